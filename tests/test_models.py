import pytest

torch = pytest.importorskip("torch", reason="models need the train extra (torch)")

from ferkit.errors import ConfigError  # noqa: E402
from ferkit.models import create_model, get_spec, list_models, model_summary  # noqa: E402
from ferkit.runtime.shipped import SHIPPED_MODELS  # noqa: E402


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_one_step(name):
    spec = get_spec(name)
    model = create_model(name, num_classes=7)
    images = torch.randn(4, 1, spec.input_size, spec.input_size)
    logits = model(images)
    assert logits.shape == (4, 7)
    logits.logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    assert model(images[:1]).shape == (1, 7)


@pytest.mark.parametrize("name", list_models())
def test_every_model_takes_other_class_counts(name):
    spec = get_spec(name)
    assert create_model(name, num_classes=8).eval()(torch.zeros(1, 1, spec.input_size, spec.input_size)).shape == (1, 8)


def test_summary_figures_match_the_papers():
    assert 50_000 < model_summary("mini_xception")["params_m"] * 1e6 < 70_000
    khaireddin = model_summary("vgg_khaireddin")
    assert khaireddin["input_size"] == 40 and khaireddin["params_m"] > 25
    assert model_summary("vgg13_ferplus", num_classes=8)["input_size"] == 64


def test_emotion_vggnet_stages_and_six_classes():
    four = create_model("emotion_vggnet", num_classes=6, stages=4).eval()
    assert four(torch.zeros(2, 1, 48, 48)).shape == (2, 6)
    with pytest.raises(ValueError):
        create_model("emotion_vggnet", stages=5)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown model 'vgg99'.*vgg_khaireddin"):
        create_model("vgg99")


def test_models_command_lists_architectures_and_shipped_models(capsys):
    from ferkit.cli import main
    from ferkit.runtime.shipped import shipped_emotion_models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n{name} " in out for name in list_models())
    for name in shipped_emotion_models():
        assert f"\n  {name} " in out
    assert "FER2013 PrivateTest" in out and "balanced" in out


@pytest.mark.parametrize("name", ["resnet18_v2_quarter", "resnet18_v2_half"])
def test_mixed_heads_train_side_by_side_and_answer_as_one(name):
    """Two heads: training sees both heads' logits; evaluation sees the log of their mixed probabilities."""
    spec = get_spec(name)
    model = create_model(name, num_classes=8, head_mix=[0.25, 0.75])
    images = torch.randn(3, 1, spec.input_size, spec.input_size)
    assert model(images).shape == (3, 16)
    features = []
    model.fc.register_forward_hook(lambda module, inputs, output: features.append(inputs[0]))
    with torch.no_grad():
        answer = model.eval()(images)
        logits = torch.nn.functional.linear(features[-1], model.fc.weight, model.fc.bias)
    heads = logits.view(3, 2, 8).softmax(dim=2)
    assert answer.shape == (3, 8)
    assert torch.allclose(answer.exp(), 0.25 * heads[:, 0] + 0.75 * heads[:, 1], atol=1e-6)


@pytest.mark.parametrize("mix", [[1.0], [0.6, 0.6], [-0.5, 1.5]])
def test_a_head_mix_must_be_weights(mix):
    with pytest.raises(ValueError, match="head mix"):
        create_model("resnet18_v2_quarter", num_classes=8, head_mix=mix)


@pytest.mark.parametrize("shipped", SHIPPED_MODELS, ids=lambda model: model.name)
def test_the_name_table_says_where_each_shipped_model_came_from(shipped):
    """Each trained model's recipe exists and makes the run and architecture the table names, and the file's card
    says the same architecture: one model, five names, no two of them disagreeing."""
    from pathlib import Path

    from ferkit.config import Config
    from ferkit.runtime.age import AgeEstimator
    from ferkit.runtime.shipped import load_emotion_model

    card = AgeEstimator(shipped.file).model.card if shipped.name == "age" else load_emotion_model(shipped.file).card
    if shipped.recipe is None:  # an ensemble: its members are named by its manifest
        assert "+" in card.arch and shipped.file.suffix == ".json"
        return
    recipe = Config.load(Path(__file__).parents[1] / "recipes" / f"{shipped.recipe}.yaml")
    assert (recipe.train.name, recipe.model.name) == (shipped.run, shipped.arch)
    assert card.arch == shipped.arch and get_spec(shipped.arch)
