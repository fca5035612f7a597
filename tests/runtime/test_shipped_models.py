"""The models inside the package: their recorded metrics are what `ferkit evaluate` measures today."""

import json

import pytest

from ferkit.cli import main
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.runtime.shipped import AGE_MODEL, EMOTION_MODELS, load_emotion_model

# The stores the shipped models were measured on, as `ferkit data prepare` makes them from the shared archives.
STORES = {
    "fer2013": ("fer2013-images.tar.gz", {}),
    "ferplus": ("ferplus.tar.gz", {"equalize": True}),
    "utkface": ("utkface-96px.tar.gz", {}),
}
# name -> (file, store, the metric recorded in the file)
SHIPPED = {
    "fer2013-resnet": (EMOTION_MODELS["fer2013-resnet"], "fer2013", "accuracy"),
    "fer2013-fast": (EMOTION_MODELS["fer2013-fast"], "fer2013", "accuracy"),
    "fer2013": (EMOTION_MODELS["fer2013"], "fer2013", "accuracy"),
    "fer2013-int8": (EMOTION_MODELS["fer2013-int8"], "fer2013", "accuracy"),
    "ferplus": (EMOTION_MODELS["ferplus"], "ferplus", "accuracy"),
    "fer2013-ensemble": (EMOTION_MODELS["fer2013-ensemble"], "fer2013", "accuracy"),
    "ferplus-ensemble": (EMOTION_MODELS["ferplus-ensemble"], "ferplus", "accuracy"),
    "age": (AGE_MODEL, "utkface", "mae"),
}
# Accuracy counts faces and must match exactly; a mean of floats (the age MAE) moves in its 8th digit with the
# CPU's vector width, as float sums do.
TOLERANCE = {"accuracy": {"abs": 1e-9}, "mae": {"rel": 1e-6}}
assert set(EMOTION_MODELS) < set(SHIPPED), "a registered model without a reproduction test"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from conftest import shared_data_dir
    from ferkit.data import prepare

    data = shared_data_dir()
    if not (data / "fer2013-images.tar.gz").exists():
        pytest.skip(f"shared data sets not found at {data}; CI runs this test")
    folder = tmp_path_factory.mktemp("stores")
    for name, (archive, options) in STORES.items():
        prepare(data / archive, folder / f"{name}.npz", **options)
    return {kind: folder / f"{store}.npz" for kind, (_, store, _) in SHIPPED.items()}


@pytest.mark.parametrize("kind", SHIPPED)
def test_shipped_model_is_small_and_self_describing(kind):
    path = SHIPPED[kind][0]
    assert path.is_file(), f"{path} is not shipped"
    model = load_emotion_model(path)
    assert all(file.stat().st_size <= (10 if kind == "age" else 30) * 1024 * 1024 for file in model.files)
    card = model.card
    assert card.classes and card.arch and card.data_hash and card.preprocessing.image_size
    assert {"PublicTest", "PrivateTest"} <= set(card.metrics)


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHIPPED)
def test_evaluate_reproduces_the_recorded_numbers(kind, stores, tmp_path, capsys):
    """Accuracy as recorded, and each emotion file's calibration too: its temperature was fitted on PublicTest
    of this store as the analyzer answers (runtime path, mirror average), and measured that way each split's ECE
    is as recorded (rounded to 4 digits there)."""
    path, _, metric = SHIPPED[kind]
    card = load_emotion_model(path).card
    for split in ("PublicTest", "PrivateTest"):
        measured = _evaluate(path, stores[kind], split, tmp_path)
        assert measured[metric] == pytest.approx(card.metrics[split][metric], **TOLERANCE[metric]), split
        if kind != "age":
            as_analyzed = _evaluate(path, stores[kind], split, tmp_path, "--runtime-path", "--mirror")
            assert as_analyzed["ece"] == pytest.approx(card.calibration[split]["ece_after"], abs=1e-4), split
    # The store the numbers were measured on is the one this ingest makes today. Files measured before they
    # recorded that store's hash were measured on the store they were trained on.
    from ferkit.data import load_store

    store_hash = load_store(stores[kind]).data_hash()
    assert store_hash == card.metrics["PrivateTest"].get("store_hash", card.data_hash)
    if kind != "age":
        assert card.calibration["fitted_on"] == "PublicTest" and card.calibration["store_hash"] == store_hash
        assert card.calibration["path"] == "runtime" and card.calibration["mirror"] is True


def _evaluate(path, store, split, folder, *options) -> dict:
    out = folder / f"{split}{''.join(options)}.json"
    assert main(["evaluate", str(path), "--store", str(store), "--split", split, "--json", str(out), *options]) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
def test_int8_model_agrees_with_the_full_precision_one(stores):
    """Reduced precision may change at most 1% of top-1 labels, over all 3,589 PrivateTest faces."""
    from ferkit.data import load_store

    faces = load_store(stores["fer2013"]).split("PrivateTest").images
    full = EmotionRecognizer(EMOTION_MODELS["fer2013"]).predict_prepared(faces)
    int8 = EmotionRecognizer(EMOTION_MODELS["fer2013-int8"]).predict_prepared(faces)
    assert (full.argmax(1) == int8.argmax(1)).mean() >= 0.99


@pytest.mark.slow
def test_mirror_averaging_helps_the_default_on_publictest(stores, tmp_path):
    """Why `ferkit analyze` averages each face with its mirror image by default: it scores higher on PublicTest,
    the selection split, through the runtime path."""
    from ferkit.runtime.shipped import DEFAULT_EMOTION

    accuracy = {}
    for mirror in (False, True):
        out = tmp_path / f"mirror-{mirror}.json"
        flags = ["--split", "val", "--runtime-path", "--json", str(out)] + (["--mirror"] if mirror else [])
        assert main(["evaluate", DEFAULT_EMOTION, "--store", str(stores[DEFAULT_EMOTION]), *flags]) == 0
        accuracy[mirror] = json.loads(out.read_text())["accuracy"]
    assert accuracy[True] > accuracy[False]
