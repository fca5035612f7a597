"""The HOG + linear SVM baseline trains and evaluates through the same commands as the networks."""

import json

import numpy as np

from ferkit.cli import main
from ferkit.evaluation.classic import HogSvmPredictor, hog_features


def test_hog_svm_learns_the_tiny_task_and_evaluates_like_a_network(tiny_store, tmp_path, capsys):
    args = ["train", "--set", "model.name=hog_svm", "--set", f"data.store={tiny_store}"]
    args += ["--set", f"train.out_dir={tmp_path}", "--set", "train.name=hog"]
    assert main(args) == 0
    run = tmp_path / "hog"
    assert {p.name for p in run.iterdir()} >= {"hog_svm.npz", "config.yaml", "eval-PrivateTest.json", "summary.json"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["PrivateTest"]["accuracy"] > 0.9  # a bright band per class: easy for HOG, chance is 1/7
    assert "PrivateTest-tencrop" not in summary
    capsys.readouterr()
    assert main(["evaluate", str(run), "--store", str(tiny_store), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert f"accuracy {summary['PrivateTest']['accuracy']:.4f}" in out

    predictor = HogSvmPredictor(run / "hog_svm.npz")
    assert predictor.card.arch == "hog_svm" and predictor.card.extra["train_seconds"] >= 0
    faces = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    probabilities = predictor.predict_prepared(faces)
    assert probabilities.shape == (3, 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert (probabilities.argmax(1) == predictor.margins(faces).argmax(1)).all()


def test_hog_features_describe_edges_not_brightness():
    flat = np.full((2, 48, 48), 40, np.uint8)
    features = hog_features(flat)
    assert features.shape == (2, 900) and np.allclose(features, 0)
    striped = flat.copy()
    striped[:, ::8] = 200
    assert hog_features(striped).max() > 0


def test_classic_errors_are_clear(tiny_store, tmp_path, capsys):
    base = ["--set", "model.name=hog_svm", "--set", f"train.out_dir={tmp_path}"]
    assert main(["train", *base, "--resume", str(tmp_path)]) == 2
    assert "no --resume" in capsys.readouterr().err
    assert main(["train", *base]) == 2
    assert "data.store is not set" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "hog_svm.npz").write_bytes(b"not numpy")
    assert main(["evaluate", str(tmp_path / "broken"), "--store", str(tiny_store)]) == 2
    assert "not a ferkit HOG+SVM model" in capsys.readouterr().err


def test_no_ten_crop_for_whole_face_features(tmp_path, tiny_store, capsys):
    args = ["train", "--set", "model.name=hog_svm", "--set", f"data.store={tiny_store}"]
    assert main([*args, "--set", f"train.out_dir={tmp_path}", "--set", "train.name=h"]) == 0
    assert main(["evaluate", str(tmp_path / "h"), "--store", str(tiny_store), "--views", "ten"]) == 2
    assert "views ten need crops" in capsys.readouterr().err
