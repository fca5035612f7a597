"""`ferkit evaluate --runtime-path` measures what `ferkit analyze` computes for the same faces."""

import json
import sys
from pathlib import Path

import numpy as np

from ferkit.cli import main
from ferkit.data import load_store, prepare
from ferkit.runtime.shipped import load_emotion_model

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


def test_mirror_averages_each_face_with_its_mirror_image():
    """A predictor that answers (left half's brightness, right half's): a face's mirror swaps the two, so the
    averaged answer is even, for an array of faces and for a list of crops alike."""
    from ferkit.faces import mirror_averaged

    def halves(faces):
        faces = np.stack(faces).astype(float) if isinstance(faces, list) else faces.astype(float)
        return np.stack([faces[:, :, :2].mean((1, 2)), faces[:, :, 2:].mean((1, 2))], axis=1)

    faces = np.zeros((3, 4, 4), np.uint8)
    faces[:, :, :2] = [[[10]], [[20]], [[30]]]  # bright left halves, dark right ones
    for given in (faces, list(faces)):
        averaged = mirror_averaged(halves, given)
        assert averaged.tolist() == [[5, 5], [10, 10], [15, 15]]
    assert halves(faces).tolist() == [[10, 0], [20, 0], [30, 0]]


def test_evaluate_mirror_is_what_the_analyzer_computes_by_default(tmp_path):
    make_tiny_store(tmp_path, counts=(1, 1, 12))
    store = tmp_path / "store.npz"
    prepare(tmp_path / "src", store)
    faces = load_store(store).split("PrivateTest")
    model = load_emotion_model("fer2013-int8")
    mirrored = np.ascontiguousarray(faces.images[:, :, ::-1])
    expected = (model.predict_prepared(faces.images) + model.predict_prepared(mirrored)).argmax(1)
    out = tmp_path / "report.json"
    assert main(["evaluate", "fer2013-int8", "--store", str(store), "--json", str(out), "--mirror"]) == 0
    report = json.loads(out.read_text())
    assert report["accuracy"] == np.mean(expected == faces.labels) and report["mirror"] is True
