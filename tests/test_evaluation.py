"""Evaluation feeds a model the pixels it was trained on, whatever the store holds."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from conftest import make_tiny_store
from ferkit.card import Preprocessing
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import images_as_the_model_expects


def _part(equalized: bool):
    images = np.random.default_rng(0).integers(60, 120, (3, 48, 48), dtype=np.uint8)  # low contrast, as raw FER+
    return SimpleNamespace(images=images, equalized=equalized)


def test_raw_store_is_equalised_for_an_equalising_model():
    part = _part(equalized=False)
    got = images_as_the_model_expects(
        part, SimpleNamespace(preprocessing=Preprocessing(48, 40, equalize=True)), "s.npz"
    )
    np.testing.assert_array_equal(got[1], cv2.equalizeHist(part.images[1]))
    assert got.max() == 255 and part.images.max() < 120


def test_matching_pixels_pass_unchanged():
    part = _part(equalized=True)
    assert (
        images_as_the_model_expects(part, SimpleNamespace(preprocessing=Preprocessing(48, 40, equalize=True)), "s.npz")
        is part.images
    )


def test_an_equalised_store_cannot_serve_a_raw_pixel_model():
    with pytest.raises(FerkitError, match="trained on raw pixels"):
        images_as_the_model_expects(
            _part(equalized=True), SimpleNamespace(preprocessing=Preprocessing(48, 40, equalize=False)), "s.npz"
        )


def test_ensemble_subsets_marks_the_best_publictest_subset_and_matches_the_ensemble(tmp_path):
    from ferkit.cli import main
    from ferkit.runtime.shipped import EMOTION_MODELS

    # Four faces per class and split: every member runs ten crops on both splits, twice (script, then command).
    tiny_store = make_tiny_store(tmp_path / "store", counts=(2, 4, 4))

    for file, model in {"a.onnx": "fer2013", "b.onnx": "fer2013-int8"}.items():
        shutil.copy(EMOTION_MODELS[model], tmp_path / file)
    members = [str(tmp_path / "a.onnx"), str(tmp_path / "b.onnx")]
    script = Path(__file__).parents[1] / "scripts" / "ensemble_subsets.py"
    out = subprocess.run(
        [sys.executable, str(script), *members, "--store", str(tiny_store)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    rows = {line[2:].split(":")[0]: line for line in out[1:]}
    assert set(rows) == {"a", "b", "a + b"}
    public_centre = {name: float(line.split(": ")[1].split(" ")[0]) for name, line in rows.items()}
    assert [name for name, line in rows.items() if line.startswith("*")] == [max(public_centre, key=public_centre.get)]
    assert main(["ensemble", *members, "--out", str(tmp_path / "ens.json"), "--store", str(tiny_store)]) == 0
    recorded = json.loads((tmp_path / "ens.json").read_text())["metrics"]
    pair = rows["a + b"].split(": ")[1].split(" | ")
    assert float(pair[3].split(" ")[0]) == pytest.approx(recorded["PrivateTest-tencrop"]["accuracy"], abs=1e-4)


def test_classification_report_by_hand():
    """Nine answers over three classes, counted on paper: confusion rows are true classes."""
    from ferkit.evaluation.metrics import classification_report

    true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 1, 0, 2, 0])
    report = classification_report(true, predicted, ["a", "b", "c"])
    assert report.confusion == [[2, 1, 1], [1, 2, 0], [1, 0, 1]]
    assert report.accuracy == pytest.approx(5 / 9)
    assert report.recall == pytest.approx({"a": 2 / 4, "b": 2 / 3, "c": 1 / 2})
    assert report.precision == pytest.approx({"a": 2 / 4, "b": 2 / 3, "c": 1 / 2})
    # F1 equals recall here because each class's precision equals its recall.
    assert report.macro_f1 == pytest.approx((1 / 2 + 2 / 3 + 1 / 2) / 3)
    assert report.balanced_accuracy == pytest.approx((1 / 2 + 2 / 3 + 1 / 2) / 3)


def test_a_class_never_predicted_scores_zero_not_nan():
    from ferkit.evaluation.metrics import classification_report

    report = classification_report(np.array([0, 1, 2]), np.array([0, 1, 1]), ["a", "b", "c"])
    assert report.recall["c"] == 0 and report.precision["c"] == 0 and report.f1["c"] == 0
    assert report.precision["b"] == pytest.approx(0.5) and report.macro_f1 == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_age_report_on_known_answers():
    """Four faces worked by hand: errors 1, 2, 10 and 0.4 years; ranges 20-29/20-29, 30-39/30-39,
    50-59/60-69 and 0-2/0-2; three within 5 years; men the first two, women the rest."""
    from ferkit.evaluation.age import age_report, expected_age

    predicted, true = np.array([25.0, 33.0, 55.0, 1.6]), np.array([24.0, 35.0, 65.0, 2.0])
    report = age_report(predicted, true, gender=np.array([0, 0, 1, 1]), race=np.array([2, 2, 2, 4]))
    assert report.count == 4 and report.mae == pytest.approx((1 + 2 + 10 + 0.4) / 4)
    assert report.range_accuracy == 0.75 and report.within_5_years == 0.75
    assert report.mae_by_gender == {"male": 1.5, "female": 5.2} and report.count_by_gender == {"male": 2, "female": 2}
    assert report.mae_by_race == {"asian": round(13 / 3, 3), "other": 0.4}
    assert report.mae_by_range == {"0-2": 0.4, "20-29": 1.0, "30-39": 2.0, "60-69": 10.0}
    assert sum(report.count_by_range.values()) == 4
    assert expected_age(np.array([[0.0, 0.5, 0.5]])).tolist() == [1.5]
