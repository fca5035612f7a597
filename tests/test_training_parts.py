"""Optimizers, schedulers, losses, augmentation and config: each registry entry is exercised."""

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")

from ferkit.config import Config, OptimConfig, ScheduleConfig  # noqa: E402
from ferkit.data.augment import (  # noqa: E402
    equalize_some,
    mix_batch,
    random_affine_crop,
    random_degrade,
    random_erase,
)
from ferkit.errors import ConfigError  # noqa: E402
from ferkit.training.losses import multi_target_loss, sample_targets, soft_cross_entropy  # noqa: E402
from ferkit.training.optim import OPTIMIZERS, SCHEDULERS, create_optimizer, create_schedule, current_lr  # noqa: E402


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(name):
    model = tiny_model()
    optimizer = create_optimizer(model, OptimConfig(name=name, lr=0.5 if name == "adadelta" else 0.05))
    inputs, targets = torch.randn(32, 4), torch.randint(0, 3, (32,))
    losses = []
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_weight_decay_skips_biases_and_norms():
    groups = create_optimizer(tiny_model(), OptimConfig(weight_decay=0.1)).param_groups
    assert groups[0]["weight_decay"] == 0.1 and all(p.ndim > 1 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.ndim == 1 for p in groups[1]["params"])


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_runs_and_lowers_the_lr(name):
    model = tiny_model()
    optimizer = create_optimizer(model, OptimConfig(lr=0.1))
    schedule = create_schedule(
        optimizer, ScheduleConfig(name=name, patience=0, step_size=1), epochs=4, steps_per_epoch=5
    )
    rates = []
    for _epoch in range(4):
        for _ in range(5):
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(val_accuracy=0.5)  # flat accuracy: plateau must reduce
        rates.append(current_lr(optimizer))
    assert all(r >= 0 and math.isfinite(r) for r in rates)
    if name == "none":
        assert rates == [0.1] * 4
    else:
        assert rates[-1] < 0.1


def test_plateau_uses_the_papers_factor():
    optimizer = create_optimizer(tiny_model(), OptimConfig(lr=0.1))
    schedule = create_schedule(optimizer, ScheduleConfig(name="plateau", factor=0.75, patience=1), 10, 1)
    for accuracy in (0.5, 0.6, 0.6, 0.6):
        schedule.after_epoch(accuracy)
    assert current_lr(optimizer) == pytest.approx(0.075)


def test_unknown_optimizer_and_scheduler():
    with pytest.raises(ConfigError, match="unknown optimizer 'lion'"):
        create_optimizer(tiny_model(), OptimConfig(name="lion"))
    with pytest.raises(ConfigError, match="unknown scheduler 'poly'"):
        create_schedule(None, ScheduleConfig(name="poly"), 1, 1)


def test_soft_cross_entropy_matches_torch_on_one_hot():
    logits, labels = torch.randn(16, 7), torch.randint(0, 7, (16,))
    one_hot = torch.nn.functional.one_hot(labels, 7).float()
    assert soft_cross_entropy(logits, one_hot) == pytest.approx(
        torch.nn.functional.cross_entropy(logits, labels).item(), abs=1e-5
    )
    smoothed = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1).item()
    assert soft_cross_entropy(logits, one_hot, label_smoothing=0.1) == pytest.approx(smoothed, abs=1e-5)
    weights = torch.rand(7) + 0.5
    weighted = torch.nn.functional.cross_entropy(logits, labels, weight=weights).item()
    assert soft_cross_entropy(logits, one_hot, class_weights=weights) == pytest.approx(weighted, abs=1e-5)


def test_multi_target_loss_counts_any_top_class():
    logits = torch.tensor([[2.0, 2.0, -5.0]])
    both = multi_target_loss(logits, torch.tensor([[1.0, 1.0, 0.0]]))
    single = multi_target_loss(logits, torch.tensor([[1.0, 0.0, 0.0]]))
    assert both < single
    assert single == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.tensor([0])).item(), abs=1e-5)


def test_probability_mode_samples_from_the_votes():
    votes = torch.tensor([[0.0, 1.0, 0.0]]).repeat(50, 1)
    assert (sample_targets(votes, torch.Generator().manual_seed(0)).argmax(1) == 1).all()


def test_affine_crop_shapes_and_identity():
    images = torch.rand(8, 1, 48, 48)
    generator = torch.Generator().manual_seed(0)
    out = random_affine_crop(images, 40, generator, flip=False, rotate=0, zoom=0, shift=False)
    assert out.shape == (8, 1, 40, 40)
    torch.testing.assert_close(out, images[..., 4:44, 4:44], atol=1e-5, rtol=0)
    flipped = random_affine_crop(images, 48, torch.Generator().manual_seed(3), flip=True, rotate=0, zoom=0, shift=False)
    mirrored = [torch.allclose(f, i.flip(-1), atol=1e-5) for f, i in zip(flipped, images)]
    plain = [torch.allclose(f, i, atol=1e-5) for f, i in zip(flipped, images)]
    assert all(m or p for m, p in zip(mirrored, plain)) and any(mirrored) and any(plain)


def test_random_erase_probability():
    images = torch.zeros(64, 1, 48, 48)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(random_erase(images, 0.0, generator), images)
    erased = random_erase(images, 1.0, generator)
    assert ((erased != 0).flatten(1).any(1)).all()


def test_equalize_again_is_exactly_what_the_runtime_does():
    """Training sees the pixels the runtime feeds: cv2.equalizeHist of the stored face, bit for bit."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    # 16 black pixels, then 1144 at 100: OpenCV's table gives 100 exactly 127.5, rounded to 128
    half = np.concatenate([np.zeros(16), np.full(1144, 100), np.full(1144, 200)]).reshape(1, 48, 48)
    faces = np.concatenate(
        [
            rng.integers(0, 256, (8, 48, 48)),  # every grey
            rng.integers(90, 140, (8, 48, 48)),  # a narrow band, as a dim face
            rng.normal(128, 40, (8, 48, 48)).clip(0, 255),  # round-half cases
            np.full((1, 48, 48), 77),  # one grey: left as it is
            half,
        ]
    ).astype(np.uint8)
    generator = torch.Generator().manual_seed(0)
    batch = torch.from_numpy(faces).unsqueeze(1)
    assert torch.equal(equalize_some(batch, 0.0, generator), batch)
    every = equalize_some(batch, 1.0, generator)[:, 0].numpy()
    expected = np.stack([cv2.equalizeHist(face) for face in faces])
    assert np.array_equal(every, expected)
    half = equalize_some(batch, 0.5, torch.Generator().manual_seed(1))[:, 0].numpy()
    changed = [not np.array_equal(a, b) for a, b in zip(half, faces)]
    assert 0 < sum(changed) < len(faces)


def test_mixup_and_cutmix_mix_targets():
    images, targets = torch.rand(16, 1, 8, 8), torch.eye(4)[torch.arange(16) % 4]
    generator = torch.Generator().manual_seed(0)
    for kwargs in ({"mixup": 0.4}, {"cutmix": 1.0}):
        _, mixed = mix_batch(images, targets, generator, **kwargs)
        torch.testing.assert_close(mixed.sum(1), torch.ones(16))


def test_views_cut_the_crops_the_runtime_cuts():
    """One implementation of the crops for training, evaluation and the runtime (views.py)."""
    import numpy as np

    from ferkit.views import Views

    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    centre = faces[:, 4:44, 4:44]
    assert np.array_equal(Views.CENTRE.crops(faces, 40), centre[None])
    assert np.array_equal(Views.MIRROR.crops(faces, 40), np.stack([centre, centre[:, :, ::-1]]))
    ten = Views.TEN.crops(faces, 40)
    assert ten.shape == (10, 3, 40, 40) and np.array_equal(ten[4], centre)
    assert np.array_equal(ten[0], faces[:, :40, :40]) and np.array_equal(ten[9], centre[:, :, ::-1])
    assert [views.per_face for views in Views] == [len(views.crops(faces, 40)) for views in Views]


def test_config_three_ways(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  name: cnn_basic\noptim:\n  lr: 0.1\ndata:\n  train_splits: [Training]\n")
    config = Config.load(
        path, ["optim.lr=0.02", "train.epochs=3", "augment.flip=false", "data.train_splits=Training,PublicTest"]
    )
    assert (config.model.name, config.optim.lr, config.train.epochs, config.augment.flip) == (
        "cnn_basic",
        0.02,
        3,
        False,
    )
    assert config.data.train_splits == ["Training", "PublicTest"]
    config.save(tmp_path / "saved.yaml")
    assert Config.load(tmp_path / "saved.yaml") == config
    assert Config(optim=OptimConfig(lr=0.02)).optim.lr == 0.02


@pytest.mark.parametrize(
    "override,message",
    [
        ("optim.lrr=1", "unknown key 'lrr'"),
        ("optimizer.lr=1", "unknown section 'optimizer'"),
        ("optim.lr=fast", "'fast' is not a valid float"),
        ("lr=1", "expected section.key=value"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError, match=message):
        Config.load(None, [override])


def test_validation_views_are_one_value_and_older_run_configs_still_load(tmp_path):
    """train.val_views replaced the ten_crop boolean: a run folder written before says ten_crop and resumes with the
    same views; the committed training states' configs load."""
    for ten_crop, views in (("true", "ten"), ("false", "centre")):
        (tmp_path / "c.yaml").write_text(f"train:\n  ten_crop: {ten_crop}\n  epochs: 3\n")
        config = Config.load(tmp_path / "c.yaml")
        assert (config.train.val_views, config.train.epochs) == (views, 3)
    for committed in (Path(__file__).parents[1] / "training-state").glob("*/config.yaml"):
        assert Config.load(committed).train.val_views == "centre"


@pytest.mark.parametrize(
    "override,message",
    [("augment.blur_max_sigma=0.1", "under the blur's floor"), ("augment.low_res_min_side=0", "is no face")],
)
def test_degradation_ranges_out_of_bounds_are_refused_before_anything_is_written(
    tiny_store, tmp_path, override, message
):
    from ferkit.training.trainer import train

    runs = tmp_path / "runs"
    config = Config.load(None, [f"data.store={tiny_store}", override, f"train.out_dir={runs}"])
    with pytest.raises(ConfigError, match=message):
        train(config, progress=False)
    assert not runs.exists()


def test_unknown_validation_views_are_refused_before_anything_is_written(tiny_store, tmp_path):
    from ferkit.training.trainer import train

    runs = tmp_path / "runs"
    config = Config.load(None, [f"data.store={tiny_store}", "train.val_views=sideways", f"train.out_dir={runs}"])
    with pytest.raises(ConfigError, match="train.val_views: unknown views 'sideways'"):
        train(config, progress=False)
    assert not runs.exists()


def test_bad_yaml_key(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match="unknown key 'epoch'"):
        Config.load(tmp_path / "c.yaml")


@pytest.mark.parametrize("recipe", sorted((Path(__file__).parents[1] / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_recipe_is_a_valid_config_for_a_registered_model(recipe):
    from ferkit.models import list_models
    from ferkit.training.classic import CLASSIC_MODELS

    config = Config.load(recipe)
    assert config.model.name in [*list_models(), *CLASSIC_MODELS]
    assert config.optim.name in OPTIMIZERS and config.schedule.name in SCHEDULERS
    assert config.data.val_split not in config.data.train_splits, "the release recipes select on a held-out split"


def test_degradations_blur_and_shrink_the_chosen_share():
    generator = torch.Generator().manual_seed(0)
    checkers = (torch.arange(40).view(1, 40) + torch.arange(40).view(40, 1)) % 2
    images = checkers.float().expand(64, 1, 40, 40).clone()
    assert torch.equal(random_degrade(images, generator), images)  # both off: untouched, no random draws
    blurred = random_degrade(images, generator, blur=1.0)
    shrunk = random_degrade(images, generator, low_res=1.0)
    for changed in (blurred, shrunk):
        assert changed.shape == images.shape
        # Fine detail is what goes: every image changes, and on average most of the one-pixel checkerboard is gone
        # (a shrink by one pixel, 40 -> 39, changes little: the side is drawn uniformly).
        change = (changed - images).abs().mean(dim=(1, 2, 3))
        assert (change > 0.01).all() and change.mean() > 0.3
    flat = torch.full((8, 1, 40, 40), 0.3)
    assert torch.allclose(random_degrade(flat, generator, blur=1.0, low_res=1.0), flat, atol=1e-5)  # means kept
    half = random_degrade(images, generator, blur=0.5)
    untouched = (half == images).flatten(1).all(1).float().mean()
    assert 0.25 < untouched < 0.75


def test_jpeg_compresses_the_chosen_share_as_cv2_does():
    """augment.jpeg: a chosen face is exactly what cv2 writes and reads back at some quality in the range; the
    others are untouched."""
    import cv2
    import numpy as np

    from ferkit.data.augment import JPEG_QUALITIES, compress_some

    rng = np.random.default_rng(0)
    faces = torch.from_numpy(rng.normal(128, 50, (40, 1, 48, 48)).clip(0, 255).astype(np.uint8))
    generator = torch.Generator().manual_seed(0)
    assert compress_some(faces, 0.0, generator) is faces
    half = compress_some(faces, 0.5, generator)
    changed = [not torch.equal(a, b) for a, b in zip(half, faces)]
    assert 5 < sum(changed) < 35
    qualities = range(JPEG_QUALITIES[0], JPEG_QUALITIES[1] + 1)
    for compressed, face in zip(half[:, 0].numpy(), faces[:, 0].numpy()):
        written = [
            cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_GRAYSCALE)
            for q in qualities
        ]
        assert np.array_equal(compressed, face) or any(np.array_equal(compressed, w) for w in written)
    low = cv2.imdecode(cv2.imencode(".jpg", faces[0, 0].numpy(), [cv2.IMWRITE_JPEG_QUALITY, 10])[1], 0)
    assert np.abs(low.astype(int) - faces[0, 0].numpy().astype(int)).mean() > 5  # the noise face does change


def test_the_jpeg_share_reaches_the_training_views():
    from ferkit.config import AugmentConfig
    from ferkit.data.augment import augment_pixels

    faces = torch.randint(0, 256, (16, 1, 48, 48), dtype=torch.uint8)
    plain = AugmentConfig(flip=False, rotate=0, zoom=0, shift=False, erase=0)
    compressed = AugmentConfig(flip=False, rotate=0, zoom=0, shift=False, erase=0, jpeg=1.0)
    a = augment_pixels(faces, plain, 48, torch.Generator().manual_seed(0))
    b = augment_pixels(faces, compressed, 48, torch.Generator().manual_seed(0))
    assert not torch.allclose(a, b, atol=0.02)


@pytest.mark.parametrize(
    ("narrow", "wide"),
    [
        ({"blur": 1.0, "blur_max_sigma": 1.0}, {"blur": 1.0, "blur_max_sigma": 3.0}),
        ({"low_res": 1.0, "low_res_min_side": 40}, {"low_res": 1.0, "low_res_min_side": 8}),
    ],
)
def test_the_degradation_ranges_reach_the_training_views(narrow, wide):
    """augment.blur_max_sigma and augment.low_res_min_side: the wider range takes more of a face's detail away
    (stripes four pixels wide survive a blur of sigma 1 and a shrink to 40 px, not sigma 3 or 8 px)."""
    from ferkit.config import AugmentConfig
    from ferkit.data.augment import augment_pixels

    stripes = ((torch.arange(48) // 2) % 2 * 255).to(torch.uint8).view(1, 1, 1, 48).expand(32, 1, 48, 48)
    still = {"flip": False, "rotate": 0, "zoom": 0, "shift": False, "erase": 0}
    clean = augment_pixels(stripes, AugmentConfig(**still), 48, torch.Generator().manual_seed(0))

    def contrast_left(config: dict) -> float:
        views = augment_pixels(stripes, AugmentConfig(**still, **config), 48, torch.Generator().manual_seed(0))
        return float(views.std() / clean.std())

    assert contrast_left(wide) < contrast_left(narrow) - 0.2
