"""The models inside the package: their recorded metrics are what `ferkit evaluate` measures today.

A whole pass of every shipped model over both test splits, three ways (the store's pixels, the analyzer's crop,
its mirror image), takes most of an hour on a slow AVX2 CPU, and CI has 90 minutes for everything. So the pass is
kept: `shipped_answers.npz` beside this file holds each model's answer on every face (and, as analyzed, its
confidence), made by the full test below (FERKIT_FULL=1, or FERKIT_RECORD=1 to write it after a model changes).
CI then checks that those answers give the recorded numbers exactly (no model runs) and that each model still
gives those answers on a fixed sample of 256 faces per split and view; a change to the weights, the crop or the
preprocessing moves some answers, and a change that moves 1% of them shows in one reading's sample 92 times in 100
and in at least one of a model's six (two splits, three readings) all but once in five million.
FERKIT_RECORD=NAME,... records only the models named.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from ferkit import calibration
from ferkit.calibration import answers_reliability
from ferkit.cli import main
from ferkit.data import FerStore
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
EMOTION_KINDS = [kind for kind in SHIPPED if kind != "age"]
ANSWERS = Path(__file__).with_name("shipped_answers.npz")
SPLITS = ("PublicTest", "PrivateTest")
SAMPLE = 256  # faces per split and view that CI predicts again (512 took 4-6 minutes of CI on this file alone)
FULL = bool(os.environ.get("FERKIT_FULL") or os.environ.get("FERKIT_RECORD"))


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
        self.parts: dict[tuple, FerStore] = {}

    def __call__(
        self, kind: str, split: str, view: str, store: Path | None = None, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities as the shipped model answers, in its classes; labels); `view` is store, runtime or
        mirror; `store` another store than the model's own; `rows` of the split's labelled faces (default all)."""
        model = load_emotion_model(SHIPPED[kind][0])
        store = store or self.stores[kind]
        part = self.part(kind, store, split)
        if rows is not None:
            part = part.subset(rows)
        if view == "store":
            faces = images_as_the_model_expects(part, model, store)
        else:
            faces = runtime_faces(part, model)
            faces = np.ascontiguousarray(faces[:, :, ::-1]) if view == "mirror" else faces
        key = (store, split, view, None if rows is None else rows.tobytes())
        if isinstance(model, EnsembleRecognizer):
            members = [self._raw(member.path, faces, key) for member in model.members]
            return model.combine(members), part.labels
        answers = calibration.scale_views(self._raw(model.path, faces, key), model.temperature, model.log_bias)
        return answers, part.labels

    def part(self, kind: str, store: Path, split: str):
        """The split's faces this model answers (`labelled_part`), read from the store once."""
        key = (kind, store, split)
        if key not in self.parts:
            self.parts[key] = labelled_part(load_emotion_model(SHIPPED[kind][0]), store, split).part
        return self.parts[key]

    def _raw(self, path: Path, faces: np.ndarray, key: tuple) -> np.ndarray:
        key = (path, faces.shape, *key)
        if key not in self.raw:
            self.raw[key] = EmotionRecognizer(path, calibrated=False).view_probabilities(faces, Views.CENTRE)
        return self.raw[key]


@pytest.fixture(scope="module")
def predictions(stores):
    return Predictions(stores)


def sample_rows(count: int) -> np.ndarray:
    """The faces CI predicts again, out of a split's `count`: the same ones on every run."""
    return np.sort(np.random.default_rng(0).choice(count, min(SAMPLE, count), replace=False))


def model_answers(predictions, prepared, kind: str, sample: bool) -> dict[str, np.ndarray]:
    """One shipped model's answers on both splits, each face read three ways: the store's pixels (the figures
    recorded as `accuracy`), the analyzer's crop, and as analyzed (the crop, averaged with its mirror image where
    the card asks) with the answer's confidence, on the store the model was calibrated on, in its classes. All
    faces, or `sample_rows` of them."""
    model = load_emotion_model(SHIPPED[kind][0])
    calibrated_on = prepared[model.card.calibration.store_hash]
    classes = labelled_part(model, calibrated_on, "PublicTest").classes
    answers = {}
    for split in SPLITS:
        own_rows, calibration_rows = (
            (sample_rows(len(predictions.part(kind, store, split))) if sample else None)
            for store in (predictions.stores[kind], calibrated_on)
        )
        on_store, _ = predictions(kind, split, "store", rows=own_rows)
        crop, _ = predictions(kind, split, "runtime", calibrated_on, calibration_rows)
        analyzed, _ = _as_analyzed(predictions, kind, split, model.card.views, calibrated_on, calibration_rows)
        analyzed = in_classes(analyzed, model.classes, classes)
        answers[f"{kind}/{split}/store"] = on_store.argmax(1).astype(np.uint8)
        answers[f"{kind}/{split}/crop"] = crop.argmax(1).astype(np.uint8)
        answers[f"{kind}/{split}/analyzed"] = analyzed.argmax(1).astype(np.uint8)
        answers[f"{kind}/{split}/confidence"] = analyzed.max(1).astype(np.float32)
    return answers


def files_digest(kind: str) -> str:
    """SHA-256 over a model's files: the recorded answers hold for these bytes only."""
    digest = hashlib.sha256()
    for file in load_emotion_model(SHIPPED[kind][0]).files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def recorded() -> dict[str, np.ndarray]:
    with np.load(ANSWERS) as arrays:
        return {key: arrays[key] for key in arrays.files}


def test_the_recorded_answers_are_those_of_the_shipped_files(recorded):
    """A model changed without recording its answers again (FERKIT_RECORD=1) is caught here, by its bytes."""
    assert sorted(key.split("/")[0] for key in recorded if key.endswith("/files")) == sorted(EMOTION_KINDS)
    for kind in EMOTION_KINDS:
        assert str(recorded[f"{kind}/files"]) == files_digest(kind), f"{kind}: record its answers again"


@pytest.mark.slow
@pytest.mark.parametrize("kind", EMOTION_KINDS)
def test_the_recorded_answers_give_the_recorded_numbers(kind, prepared, stores, recorded):
    """No model runs here. Accuracy as recorded on both splits; and each emotion file's calibration: its
    temperature was fitted on PublicTest of the store it names (by hash: `both` is calibrated on FER2013's labels)
    as the analyzer answers (runtime path, the model's own views, read in that store's classes), and measured that
    way PrivateTest's ECE is as recorded (rounded to 4 digits there). PublicTest's ECE runs the same code on other
    faces, so it is not measured again here (`ferkit evaluate --runtime-path --views own` shows it)."""
    model = load_emotion_model(SHIPPED[kind][0])
    card = model.card
    for split in SPLITS:
        labels = labelled_part(model, stores[kind], split).part.labels
        measured = float((recorded[f"{kind}/{split}/store"] == labels).mean())
        assert measured == pytest.approx(card.metrics[split].accuracy, **TOLERANCE["accuracy"]), split
    assert card.calibration.store_hash in prepared, "calibrated on a store this ingest does not make"
    labels = labelled_part(model, prepared[card.calibration.store_hash], "PrivateTest").part.labels
    correct = recorded[f"{kind}/PrivateTest/analyzed"] == labels
    ece = answers_reliability(recorded[f"{kind}/PrivateTest/confidence"].astype(np.float64), correct).ece
    assert ece == pytest.approx(card.calibration.splits["PrivateTest"].ece_after, abs=1e-4)
    _assert_measured_on_todays_store(kind, stores, card)
    assert card.calibration.fitted_on == "PublicTest"
    assert card.calibration.path == "runtime" and card.calibration.views is card.views


@pytest.mark.slow
@pytest.mark.parametrize("kind", EMOTION_KINDS)
def test_each_model_still_gives_its_recorded_answers(kind, prepared, predictions, recorded):
    """The shipped file, run today on a fixed sample of each split, answers as recorded, each way it is read."""
    for key, answers in model_answers(predictions, prepared, kind, sample=True).items():
        expected = recorded[key][sample_rows(len(recorded[key]))]
        if key.endswith("/confidence"):
            assert answers == pytest.approx(expected, abs=1e-5), key
        else:
            assert (answers == expected).all(), f"{key}: {(answers != expected).sum()} of {len(answers)} differ"


@pytest.mark.slow
def test_the_age_model_reproduces_its_recorded_mae(stores, tmp_path):
    path = SHIPPED["age"][0]
    card = load_emotion_model(path).card
    for split in SPLITS:
        measured = _evaluate(path, stores["age"], split, tmp_path)["mae"]
        assert measured == pytest.approx(card.metrics[split].mae, **TOLERANCE["mae"]), split
    _assert_measured_on_todays_store("age", stores, card)


@pytest.mark.skipif(
    not FULL, reason="every model on every face (most of an hour on a slow CPU): FERKIT_FULL=1, or FERKIT_RECORD=1"
)
def test_a_whole_pass_gives_the_recorded_answers(prepared, predictions):
    """What CI samples, on every face. FERKIT_RECORD=1 writes every model's answers instead, FERKIT_RECORD=both,age
    those of the models named (after they change), keeping the others'."""
    named = os.environ.get("FERKIT_RECORD", "")
    kinds = EMOTION_KINDS if named in ("", "1") else [kind for kind in EMOTION_KINDS if kind in named.split(",")]
    answers: dict[str, np.ndarray] = {}
    for kind in kinds:
        answers |= model_answers(predictions, prepared, kind, sample=False)
        answers[f"{kind}/files"] = np.array(files_digest(kind))
    if named:
        kept = {}
        if ANSWERS.exists():
            with np.load(ANSWERS) as before:
                kept = {key: before[key] for key in before.files if key.split("/")[0] not in kinds}
        np.savez_compressed(ANSWERS, **(kept | answers))
    with np.load(ANSWERS) as recorded:
        assert {key for key in recorded.files if key.split("/")[0] in kinds} == set(answers)
        for key, values in answers.items():
            if key.endswith("/confidence"):
                assert values == pytest.approx(recorded[key], abs=1e-5), key
            else:
                assert (values == recorded[key]).all(), key


def _assert_measured_on_todays_store(kind, stores, card) -> None:
    """The store the numbers were measured on is the one this ingest makes today. Files measured before they
    recorded that store's hash were measured on the store they were trained on."""
    from ferkit.data import load_store

    store_hash = load_store(stores[kind]).data_hash()
    assert store_hash == (card.metrics["PrivateTest"].store_hash or card.data_hash)


def _as_analyzed(predictions, kind, split, views=Views.MIRROR, store=None, rows=None) -> tuple[np.ndarray, np.ndarray]:
    """What `ferkit analyze` answers on these views: the crop's answer, or its mean with its mirror image's."""
    crop, labels = predictions(kind, split, "runtime", store, rows)
    if views is Views.CENTRE:
        return crop, labels
    mirror, _ = predictions(kind, split, "mirror", store, rows)
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


def test_int8_model_agrees_with_the_full_precision_one(recorded):
    """Reduced precision may change at most 1% of top-1 labels, over all 3,589 PrivateTest faces (as recorded:
    the test above holds each file to its answers)."""
    full, int8 = recorded["fer2013/PrivateTest/store"], recorded["fer2013-int8/PrivateTest/store"]
    assert (full == int8).mean() >= 0.99


@pytest.mark.slow
def test_mirror_averaging_helps_a_model_taught_on_single_views(stores, recorded):
    """Why `fer2013-resnet`'s card asks for the mirror (each face averaged with its mirror image): it scores higher
    on PublicTest, the selection split, through the runtime path. (`both` has the mirror folded in: centre.)"""
    model = load_emotion_model(SHIPPED["fer2013-resnet"][0])
    labels = labelled_part(model, stores["fer2013-resnet"], "PublicTest").part.labels
    crop, averaged = (recorded[f"fer2013-resnet/PublicTest/{way}"] for way in ("crop", "analyzed"))
    assert (averaged == labels).mean() > (crop == labels).mean()
