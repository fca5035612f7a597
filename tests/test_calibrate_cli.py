"""`ferkit calibrate` end to end on a tiny store: the temperature goes into the file, the weights stay, and an
ensemble that pins the file is pinned again and still loads."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("onnx", reason="rewriting an ONNX file's metadata needs the export extra")
pytest.importorskip("onnxruntime")

from ferkit.cli import main  # noqa: E402
from ferkit.export.onnx import read_card  # noqa: E402
from ferkit.runtime.ensemble import EnsembleRecognizer, write_manifest  # noqa: E402
from ferkit.runtime.shipped import emotion_model_path  # noqa: E402


def initializers(path):
    import onnx

    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_calibrate_records_a_temperature_and_keeps_the_weights(tiny_store, tmp_path, capsys):
    model = tmp_path / "model.onnx"
    shutil.copy(emotion_model_path("fer2013-int8"), model)
    manifest = write_manifest([model], tmp_path / "ensemble.json")
    weights = initializers(model)
    assert main(["calibrate", str(model), "--store", str(tiny_store), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    record = read_card(model).calibration
    assert record.fitted_on == "PublicTest" and 0.05 < record.temperature < 20
    assert set(record.splits) == {"PublicTest", "PrivateTest"} and "pinned again" in out
    after = initializers(model)
    assert after.keys() == weights.keys() and all(np.array_equal(after[k], weights[k]) for k in weights)
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert EnsembleRecognizer.load(manifest).members[0].temperature == 1.0  # members run raw inside an ensemble

    assert main(["calibrate", str(manifest), "--store", str(tiny_store)]) == 0
    assert (
        json.loads(manifest.read_text())["calibration"]["temperature"] == EnsembleRecognizer.load(manifest).temperature
    )


@pytest.mark.parametrize("views", ["mirror", "centre"])
def test_the_recorded_ece_is_what_evaluate_measures_as_analyze_runs(views, tiny_store, tmp_path):
    """Fitted and measured on the analyzer's path (runtime path, the model's own views or those asked for), so
    `ferkit evaluate --runtime-path --views V` reproduces the recorded figure."""
    model = tmp_path / "model.onnx"
    shutil.copy(emotion_model_path("fer2013-resnet"), model)
    own = [] if views == "mirror" else ["--views", views]  # fer2013-resnet's own views are the mirror's
    assert main(["calibrate", str(model), "--store", str(tiny_store), *own]) == 0
    record = read_card(model).calibration
    assert record.path == "runtime" and record.views == views
    out = tmp_path / "report.json"
    options = ["--runtime-path", "--views", views]
    assert (
        main(
            ["evaluate", str(model), "--store", str(tiny_store), "--split", "PrivateTest", "--json", str(out), *options]
        )
        == 0
    )
    assert json.loads(out.read_text())["ece"] == pytest.approx(record.splits["PrivateTest"].ece_after, abs=1e-4)


def test_calibrate_needs_a_store_with_the_models_classes(tmp_path, capsys):
    assert main(["calibrate", "fer2013-int8", "--store", str(tmp_path / "missing.npz")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_prior_power_moves_answers_to_the_rarer_classes_and_is_what_evaluate_measures(tiny_store, tmp_path):
    """`--prior-power` divides the model's mean PublicTest answer out of every answer before the temperature is
    fitted: the classes it answered most lose answers, the file records prior and power, and `ferkit evaluate`
    (which runs the file as `analyze` does) reproduces the recorded ECE with the correction in place."""
    from ferkit.data import load_store
    from ferkit.runtime.recognizer import EmotionRecognizer

    model = tmp_path / "model.onnx"
    shutil.copy(emotion_model_path("fer2013-fast"), model)
    faces = list(load_store(tiny_store).split("PublicTest").images)
    assert main(["calibrate", str(model), "--store", str(tiny_store), "--views", "centre"]) == 0
    plain = EmotionRecognizer(model).predict_faces(faces).argmax(axis=1)
    assert main(["calibrate", str(model), "--store", str(tiny_store), "--views", "centre", "--prior-power", "1"]) == 0
    record = read_card(model).calibration
    assert record.prior_power == 1 and len(record.prior) == 7 and sum(record.prior) == pytest.approx(1, abs=1e-5)
    corrected = EmotionRecognizer(model).predict_faces(faces).argmax(axis=1)
    favourite, rarest = int(np.argmax(record.prior)), int(np.argmin(record.prior))
    assert (corrected == favourite).sum() < (plain == favourite).sum()
    assert (corrected == rarest).sum() >= (plain == rarest).sum()
    out = tmp_path / "report.json"
    options = ["--runtime-path", "--views", "centre", "--split", "PrivateTest", "--json", str(out)]
    assert main(["evaluate", str(model), "--store", str(tiny_store), *options]) == 0
    assert json.loads(out.read_text())["ece"] == pytest.approx(record.splits["PrivateTest"].ece_after, abs=1e-4)
    assert main(["calibrate", str(model), "--store", str(tiny_store), "--prior-power", "2"]) == 2
