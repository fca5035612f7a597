"""The models inside the package: their recorded metrics are what `ferkit evaluate` measures today."""

import json
from pathlib import Path

import numpy as np
import pytest

from ferkit import calibration
from ferkit.calibration import reliability
from ferkit.cli import main
from ferkit.evaluation.evaluate import images_as_the_model_expects, labelled_part, runtime_faces
from ferkit.labels import in_classes
from ferkit.runtime.ensemble import EnsembleRecognizer
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.runtime.shipped import EMOTION_MODELS, SHIPPED_MODELS, load_emotion_model
from ferkit.views import Views

# The stores the shipped models were measured on, as `ferkit data prepare` makes them from the shared archives.
STORES = {
    "fer2013": ("fer2013-images.tar.gz", {}),
    "ferplus": ("ferplus.tar.gz", {"equalize": True}),
    "utkface": ("utkface-96px.tar.gz", {}),
}
# name -> (file, store, the metric recorded in the file), for every model in the package's name table
SHIPPED = {
    model.name: (model.file, model.store, "mae" if model.name == "age" else "accuracy") for model in SHIPPED_MODELS
}
# Accuracy counts faces and must match exactly; a mean of floats (the age MAE) moves in its 8th digit with the
# CPU's vector width, as float sums do.
TOLERANCE = {"accuracy": {"abs": 1e-9}, "mae": {"rel": 1e-6}}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, Path]:
    """Every store the shipped models were measured or calibrated on, by its data hash."""
    from conftest import shared_data_dir
    from ferkit.data import load_store, prepare

    data = shared_data_dir()
    if not (data / "fer2013-images.tar.gz").exists():
        pytest.skip(f"shared data sets not found at {data}; CI runs this test")
    folder = tmp_path_factory.mktemp("stores")
    paths = [folder / f"{name}.npz" for name in STORES]
    for path, (archive, options) in zip(paths, STORES.values()):
        prepare(data / archive, path, **options)
    return {load_store(path).data_hash(): path for path in paths}


@pytest.fixture(scope="module")
def stores(prepared) -> dict[str, Path]:
    """Each shipped model's store, the one its figures are measured on."""
    by_name = {path.stem: path for path in prepared.values()}
    return {kind: by_name[store] for kind, (_, store, _) in SHIPPED.items()}


@pytest.mark.parametrize("kind", SHIPPED)
def test_shipped_model_is_small_and_self_describing(kind):
    path = SHIPPED[kind][0]
    assert path.is_file(), f"{path} is not shipped"
    model = load_emotion_model(path)
    assert all(file.stat().st_size <= (10 if kind == "age" else 30) * 1024 * 1024 for file in model.files)
    card = model.card
    assert card.classes and card.arch and card.data_hash and card.preprocessing.image_size
    assert {"PublicTest", "PrivateTest"} <= set(card.metrics)


class Predictions:
    """Every shipped file's own probabilities on a split, seen one way (`store`: the store's pixels as the model
    was trained on them; `runtime` and `mirror`: a detector's crop as the analyzer prepares it, and its mirror
    image), computed once for the whole module. A model's figures are derived from them as it answers (its
    temperature; an ensemble's mean of its members at its own), so an ensemble costs only the members that do
    not ship on their own, and no test predicts the same faces twice."""

    def __init__(self, stores: dict[str, Path]):
        self.stores = stores
        self.raw: dict[tuple, np.ndarray] = {}

    def __call__(self, kind: str, split: str, view: str, store: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities as the shipped model answers, in its classes; labels); `view` is store, runtime or
        mirror; `store` another store than the model's own."""
        model = load_emotion_model(SHIPPED[kind][0])
        store = store or self.stores[kind]
        _, part, _ = labelled_part(model, store, split)
        if view == "store":
            faces = images_as_the_model_expects(part, model, store)
        else:
            faces = runtime_faces(part, model)
            faces = np.ascontiguousarray(faces[:, :, ::-1]) if view == "mirror" else faces
        key = (store, split, view)
        if isinstance(model, EnsembleRecognizer):
            members = [self._raw(member.path, faces, key) for member in model.members]
            return model.combine(members), part.labels
        return calibration.scale_views(self._raw(model.path, faces, key), model.temperature), part.labels

    def _raw(self, path: Path, faces: np.ndarray, key: tuple) -> np.ndarray:
        key = (path, faces.shape, *key)
        if key not in self.raw:
            self.raw[key] = EmotionRecognizer(path, calibrated=False).view_probabilities(faces, Views.CENTRE)
        return self.raw[key]


@pytest.fixture(scope="module")
def predictions(stores):
    return Predictions(stores)


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHIPPED)
def test_evaluate_reproduces_the_recorded_numbers(kind, prepared, stores, predictions, tmp_path):
    """Accuracy as recorded on both splits, and each emotion file's calibration too: its temperature was fitted
    on PublicTest of the store it names (by hash: `both` is calibrated on FER2013's labels) as the analyzer answers
    (runtime path, the model's own views, read in that store's classes), and measured that way PrivateTest's ECE
    is as recorded (rounded to 4 digits there). PublicTest's ECE runs the same code on other faces, so it is not
    measured again here (`ferkit evaluate --runtime-path --views own` shows it)."""
    path, _, metric = SHIPPED[kind]
    card = load_emotion_model(path).card
    for split in ("PublicTest", "PrivateTest"):
        if kind == "age":
            measured = _evaluate(path, stores[kind], split, tmp_path)[metric]
        else:
            probabilities, labels = predictions(kind, split, "store")
            measured = float((probabilities.argmax(1) == labels).mean())
        assert measured == pytest.approx(getattr(card.metrics[split], metric), **TOLERANCE[metric]), split
    if kind != "age":
        assert card.calibration.store_hash in prepared, "calibrated on a store this ingest does not make"
        calibrated_on = prepared[card.calibration.store_hash]
        as_analyzed, labels = _as_analyzed(predictions, kind, "PrivateTest", card.views, calibrated_on)
        model = load_emotion_model(path)
        as_analyzed = in_classes(as_analyzed, model.classes, labelled_part(model, calibrated_on, "PublicTest").classes)
        assert reliability(as_analyzed, labels).ece == pytest.approx(
            card.calibration.splits["PrivateTest"].ece_after, abs=1e-4
        )
    # The store the numbers were measured on is the one this ingest makes today. Files measured before they
    # recorded that store's hash were measured on the store they were trained on.
    from ferkit.data import load_store

    store_hash = load_store(stores[kind]).data_hash()
    assert store_hash == (card.metrics["PrivateTest"].store_hash or card.data_hash)
    if kind != "age":
        assert card.calibration.fitted_on == "PublicTest"
        assert card.calibration.path == "runtime" and card.calibration.views is card.views


def _as_analyzed(predictions, kind, split, views=Views.MIRROR, store=None) -> tuple[np.ndarray, np.ndarray]:
    """What `ferkit analyze` answers on these views: the crop's answer, or its mean with its mirror image's."""
    crop, labels = predictions(kind, split, "runtime", store)
    if views is Views.CENTRE:
        return crop, labels
    mirror, _ = predictions(kind, split, "mirror", store)
    return (crop + mirror) / 2, labels


def _evaluate(path, store, split, folder, *options) -> dict:
    out = folder / f"{split}{''.join(options)}.json"
    assert main(["evaluate", str(path), "--store", str(store), "--split", split, "--json", str(out), *options]) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
def test_evaluate_measures_what_the_analyzer_answers(stores, tmp_path):
    """The derivation above is `ferkit evaluate --runtime-path --views mirror`'s: checked on the fastest file, whose
    recorded PublicTest ECE it reproduces."""
    path = EMOTION_MODELS["fer2013-fast"]
    measured = _evaluate(path, stores["fer2013-fast"], "PublicTest", tmp_path, "--runtime-path", "--views", "mirror")
    recorded = load_emotion_model(path).card.calibration.splits["PublicTest"].ece_after
    assert measured["ece"] == pytest.approx(recorded, abs=1e-4)


@pytest.mark.slow
def test_int8_model_agrees_with_the_full_precision_one(predictions):
    """Reduced precision may change at most 1% of top-1 labels, over all 3,589 PrivateTest faces."""
    full, _ = predictions("fer2013", "PrivateTest", "store")
    int8, _ = predictions("fer2013-int8", "PrivateTest", "store")
    assert (full.argmax(1) == int8.argmax(1)).mean() >= 0.99


@pytest.mark.slow
def test_mirror_averaging_helps_a_model_taught_on_single_views(predictions):
    """Why `fer2013-resnet`'s card asks for the mirror (each face averaged with its mirror image): it scores higher
    on PublicTest, the selection split, through the runtime path. (`both` has the mirror folded in: centre.)"""
    crop, labels = predictions("fer2013-resnet", "PublicTest", "runtime")
    averaged, _ = _as_analyzed(predictions, "fer2013-resnet", "PublicTest")
    assert (averaged.argmax(1) == labels).mean() > (crop.argmax(1) == labels).mean()
