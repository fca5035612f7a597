"""`ferkit evaluate --runtime-path` measures what `ferkit analyze` computes for the same faces."""

import json
import sys
from pathlib import Path

import numpy as np

from ferkit.cli import main
from ferkit.data import load_store, prepare
from ferkit.runtime.shipped import load_emotion_model
from ferkit.views import Views

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import make_tiny_store  # noqa: E402


def test_runtime_path_is_what_the_recognizer_computes_on_crops(tmp_path):
    make_tiny_store(tmp_path, counts=(1, 1, 12))
    store = tmp_path / "equalised.npz"
    prepare(tmp_path / "src", store, equalize=True)  # pixels come equalised, as in the Kaggle JPEG release
    faces = load_store(store).split("PrivateTest")
    model = load_emotion_model("fer2013-int8")
    analyzed = model.predict_faces(list(faces.images)).argmax(1)  # what the analyzer does with each crop
    stored = model.predict_prepared(faces.images).argmax(1)  # the store's pixels as they are
    for flag, expected in (([], stored), (["--runtime-path"], analyzed)):
        out = tmp_path / "report.json"
        assert main(["evaluate", "fer2013-int8", "--store", str(store), "--json", str(out), *flag]) == 0
        report = json.loads(out.read_text())
        assert report["accuracy"] == np.mean(expected == faces.labels)
        assert report["runtime_path"] == bool(flag)


def test_the_mirror_view_averages_each_face_with_its_mirror_image():
    """Faces bright on the left and dark on the right: the mirror view's crop is the mirror image of the
    centre crop, so the two views' mean brightness per column is even."""
    from ferkit.views import Views

    faces = np.zeros((3, 8, 8), np.uint8)
    faces[:, :, :4] = [[[10]], [[20]], [[30]]]
    views = Views.MIRROR.crops(faces, 6).astype(float)
    assert views.shape == (2, 3, 6, 6)
    assert np.array_equal(views[1], views[0][:, :, ::-1])
    assert views.mean(axis=0)[:, 0, :].tolist() == [[5.0] * 6, [10.0] * 6, [15.0] * 6]


def test_evaluate_on_the_model_s_own_views_is_what_the_analyzer_computes(tmp_path):
    """`--views own` is the card's views (mirror for fer2013-int8, as `ferkit analyze` runs it): the mean of the
    face's and its mirror image's answers, each at the model's temperature."""
    from ferkit import calibration

    make_tiny_store(tmp_path, counts=(1, 1, 12))
    store = tmp_path / "store.npz"
    prepare(tmp_path / "src", store)
    faces = load_store(store).split("PrivateTest")
    model = load_emotion_model("fer2013-int8")
    assert model.card.views == "mirror"
    mirrored = np.ascontiguousarray(faces.images[:, :, ::-1])
    raw = [model.view_probabilities(view, Views.CENTRE)[0] for view in (faces.images, mirrored)]
    expected = calibration.scale_views(raw, model.temperature)
    assert np.allclose(model.predict_prepared(faces.images, Views.MIRROR), expected, atol=1e-6)
    out = tmp_path / "report.json"
    for views in ("own", "mirror"):
        assert main(["evaluate", "fer2013-int8", "--store", str(store), "--json", str(out), "--views", views]) == 0
        report = json.loads(out.read_text())
        assert report["accuracy"] == np.mean(expected.argmax(1) == faces.labels) and report["views"] == "mirror"


def test_a_model_without_one_of_the_store_s_classes_is_measured_on_the_faces_it_can_name(tmp_path):
    """A FER2013 model has no contempt: on a FER+ store it is measured on the other faces, in FER+'s other seven
    classes (FER+'s order), and the report says so by its class list; the faces of those classes all count."""
    from ferkit.data import FerStore
    from ferkit.evaluation.evaluate import evaluate_on_store
    from ferkit.labels import FERPLUS_CLASSES, canonical

    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 7, 7, 3, 4, 6, 7], np.int16)  # three contempt faces
    FerStore(
        images=rng.integers(0, 256, (8, 48, 48), dtype=np.uint8),
        labels=labels,
        splits=np.full(8, 2, np.int8),  # PrivateTest
        source_ids=np.array([f"fer{i}.png" for i in range(8)]),
        classes=FERPLUS_CLASSES,
        label_set="ferplus",
        source="ferplus",
    ).save(tmp_path / "ferplus.npz")
    model = load_emotion_model("fer2013-fast")
    report, _ = evaluate_on_store(model, tmp_path / "ferplus.npz", "PrivateTest")
    assert report.classes == list(FERPLUS_CLASSES[:7]) and report.count == 5
    probabilities = model.predict_prepared(load_store(tmp_path / "ferplus.npz").images[labels != 7])
    names = [model.classes[i] for i in probabilities.argmax(1)]
    expected = [canonical(FERPLUS_CLASSES[label]) for label in labels[labels != 7]]
    assert report.accuracy == np.mean([name == want for name, want in zip(names, expected)])


def test_a_class_left_out_is_measured_as_a_model_without_it(tmp_path):
    """`--leave-out contempt` measures a FER+ model on the faces and classes a FER2013 model is measured on."""
    from ferkit.data import FerStore
    from ferkit.labels import FERPLUS_CLASSES

    rng = np.random.default_rng(1)
    labels = np.array([0, 1, 7, 7, 3, 4, 6, 7, 2, 5], np.int16)
    FerStore(
        images=rng.integers(0, 256, (10, 48, 48), dtype=np.uint8),
        labels=labels,
        splits=np.full(10, 2, np.int8),
        source_ids=np.array([f"fer{i}.png" for i in range(10)]),
        classes=FERPLUS_CLASSES,
        label_set="ferplus",
        source="ferplus",
    ).save(tmp_path / "ferplus.npz")
    reports = {}
    for model, flags in (("both", ["--leave-out", "contempt"]), ("fer2013-fast", [])):
        out = tmp_path / f"{model}.json"
        args = ["evaluate", model, "--store", str(tmp_path / "ferplus.npz"), "--json", str(out), *flags]
        assert main(args) == 0
        reports[model] = json.loads(out.read_text())
    assert reports["both"]["classes"] == reports["fer2013-fast"]["classes"] == list(FERPLUS_CLASSES[:7])
    assert reports["both"]["count"] == reports["fer2013-fast"]["count"] == 7
