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
