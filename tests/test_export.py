"""ONNX export: self-describing files, parity with the torch checkpoint, metrics recorded inside."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs the train extra (torch)")
pytest.importorskip("onnx", reason="export needs the export extra (onnx)")
pytest.importorskip("onnxruntime", reason="the runtime needs onnxruntime")

from ferkit.cli import main  # noqa: E402
from ferkit.config import Config  # noqa: E402
from ferkit.data import load_store  # noqa: E402
from ferkit.export.onnx import export_onnx, read_card  # noqa: E402
from ferkit.runtime.recognizer import EmotionRecognizer  # noqa: E402
from ferkit.training.predict import CheckpointPredictor  # noqa: E402
from ferkit.training.trainer import train  # noqa: E402
from ferkit.views import Views  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    """A vgg_fer (the release architecture) after one epoch on the tiny store."""
    tmp_path = tmp_path_factory.mktemp("export")
    store = request.getfixturevalue("tiny_store_module")
    config = Config.load(
        None,
        [
            "model.name=vgg_fer",
            f"data.store={store}",
            "train.epochs=1",
            "train.batch_size=32",
            f"train.out_dir={tmp_path}",
            "train.name=r",
            "train.threads=2",
        ],
    )
    run = train(config, progress=False, final_report=False).run_dir
    return run / "best.pt", store, tmp_path


def test_onnx_carries_labels_and_preprocessing(trained):
    checkpoint, _, tmp_path = trained
    path = export_onnx(checkpoint, tmp_path / "m.onnx")
    card = read_card(path)
    assert card.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert card.preprocessing.input_size == 40 and card.preprocessing.equalize is True
    recognizer = EmotionRecognizer(path)
    assert recognizer.classes == card.classes and recognizer.image_size == 48


@pytest.mark.parametrize("views", list(Views))
def test_fp32_parity_with_torch(trained, views):
    """A third of the faces: parity is crop by crop (ten crops of all 224 took most of a minute of CI)."""
    checkpoint, store, tmp_path = trained
    path = export_onnx(checkpoint, tmp_path / "p.onnx")
    faces = load_store(store).images[::3]
    torch_probs = CheckpointPredictor(checkpoint).predict_prepared(faces, views)
    onnx_probs = EmotionRecognizer(path).predict_prepared(faces, views)
    assert np.abs(torch_probs - onnx_probs).max() <= 1e-4


def test_fp16_weights_halve_the_file_and_agree(trained):
    checkpoint, store, tmp_path = trained
    full = export_onnx(checkpoint, tmp_path / "f32.onnx")
    half = export_onnx(checkpoint, tmp_path / "f16.onnx", fp16_weights=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    assert read_card(half).weights == "fp16"
    faces = load_store(store).images
    a = EmotionRecognizer(full).predict_prepared(faces)
    b = EmotionRecognizer(half).predict_prepared(faces)
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.99


def test_int8_quarters_the_file_and_agrees(trained):
    from ferkit.export.quantize import quantize_int8

    checkpoint, store, tmp_path = trained
    full = export_onnx(checkpoint, tmp_path / "q32.onnx")
    half = export_onnx(checkpoint, tmp_path / "q16.onnx", fp16_weights=True)
    int8 = quantize_int8(half, tmp_path / "q8.onnx", store, count=64)
    assert int8.stat().st_size < 0.75 * half.stat().st_size
    card = read_card(int8)
    assert card.weights == "int8" and card.classes == read_card(full).classes
    faces = load_store(store).images
    a = EmotionRecognizer(full).predict_prepared(faces)
    b = EmotionRecognizer(int8).predict_prepared(faces)
    # A one-epoch model's classes are near ties, so top-1 agreement is tested on a real model (below).
    assert np.abs(a - b).max() <= 0.05


def test_int8_needs_a_calibration_store(trained, capsys):
    checkpoint, _, tmp_path = trained
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "x.onnx"), "--int8"]) == 2
    assert "--int8 needs --store" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_export_records_metrics_that_evaluate_reproduces(trained, capsys):
    checkpoint, store, tmp_path = trained
    out = tmp_path / "measured.onnx"
    assert main(["export", str(checkpoint), "--out", str(out), "--store", str(store)]) == 0
    recorded = read_card(out).metrics
    assert set(recorded) == {
        f"{split}{views}" for split in ("PublicTest", "PrivateTest") for views in ("", "-tencrop", "-mirror")
    }
    capsys.readouterr()
    assert (
        main(["evaluate", str(out), "--store", str(store), "--split", "test", "--json", str(tmp_path / "e.json")]) == 0
    )
    assert json.loads((tmp_path / "e.json").read_text())["accuracy"] == recorded["PrivateTest"].accuracy


def test_record_measures_again_and_keeps_the_weights(trained, capsys):
    checkpoint, store, tmp_path = trained
    out = export_onnx(checkpoint, tmp_path / "recorded.onnx")
    faces = load_store(store).images
    before = EmotionRecognizer(out).predict_prepared(faces)
    assert main(["record", str(out), "--store", str(store)]) == 0
    recorded = read_card(out).metrics
    assert recorded["PrivateTest"].count == int((load_store(store).split("PrivateTest").labels >= 0).sum())
    assert recorded["PrivateTest"].store_hash == load_store(store).data_hash()
    np.testing.assert_array_equal(EmotionRecognizer(out).predict_prepared(faces), before)
    capsys.readouterr()
    assert main(["record", str(tmp_path / "m.json"), "--store", str(store)]) == 2
    assert "measures one .onnx file" in capsys.readouterr().err


def test_bad_model_files(tmp_path, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    assert main(["evaluate", str(tmp_path / "junk.onnx"), "--store", str(tmp_path / "s.npz")]) == 2
    assert "not a loadable ONNX model" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none.onnx"), "--store", "x"]) == 2
    assert "no such model file" in capsys.readouterr().err


@pytest.mark.shared
def test_parity_on_a_thousand_real_test_faces(trained, shared_data, tmp_path):
    from ferkit.data import prepare

    checkpoint, _, _ = trained
    store = prepare(shared_data / "fer2013-images.tar.gz", tmp_path / "fer.npz", splits=["PrivateTest"])
    faces = store.images[np.random.default_rng(0).choice(len(store), 1000, replace=False)]
    path = export_onnx(checkpoint, tmp_path / "real.onnx")
    torch_probs = CheckpointPredictor(checkpoint).predict_prepared(faces)
    onnx_probs = EmotionRecognizer(path).predict_prepared(faces)
    assert np.abs(torch_probs - onnx_probs).max() <= 1e-4


@pytest.mark.shared
def test_shipped_mtcnn_onnx_matches_the_torch_networks(shared_data, tmp_path):
    """The ONNX files in the package are what export-mtcnn makes from the shared state dicts."""
    import onnxruntime as ort

    from ferkit.export.mtcnn import INPUT_SIDES, load_mtcnn
    from ferkit.runtime.mtcnn import WEIGHTS

    nets = load_mtcnn(shared_data.parent / "models" / "face-detectors" / "mtcnn_facenet_pytorch")
    rng = np.random.default_rng(0)
    for name, net in nets.items():
        side = INPUT_SIDES[name] * (5 if name == "pnet" else 1)  # P-Net takes any size
        images = rng.uniform(-1, 1, (3, 3, side, side + 7 * (name == "pnet"))).astype(np.float32)
        with torch.no_grad():
            expected = [t.numpy() for t in net(torch.from_numpy(images))]
        session = ort.InferenceSession(str(WEIGHTS / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        for want, got in zip(expected, session.run(None, {"image": images})):
            np.testing.assert_allclose(got, want, atol=1e-4)
