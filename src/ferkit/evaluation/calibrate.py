"""`ferkit calibrate`'s measurement: a temperature fitted on PublicTest as the analyzer sees the faces (runtime path,
the views asked for), and what it does to calibration on both test splits, as a typed record for the card."""

from __future__ import annotations

from pathlib import Path

from ferkit import calibration
from ferkit.calibration import Reliability
from ferkit.card import Calibration, SplitCalibration
from ferkit.data import load_store
from ferkit.evaluation.evaluate import analyzer_views
from ferkit.views import Views

SPLITS = ("PublicTest", "PrivateTest")


def fit_on_store(model, store_path: str | Path, views: Views) -> tuple[Calibration, dict[str, Reliability]]:
    """The fitted record, and PrivateTest's reliability curves before and after it (for a diagram). `model`
    answers raw (no temperature of its own): an EmotionRecognizer or ensemble made with calibrated=False."""
    answered = {split: analyzer_views(model, store_path, split, views) for split in SPLITS}
    temperature = round(calibration.fit_temperature(*answered["PublicTest"]), 4)  # as recorded: figures reproduce
    splits, curves = {}, {}
    for split, (answers, labels) in answered.items():
        raw, scaled = calibration.scale_views(answers, 1.0), calibration.scale_views(answers, temperature)
        before, after = calibration.reliability(raw, labels), calibration.reliability(scaled, labels)
        splits[split] = SplitCalibration(
            ece_before=round(before.ece, 4),
            ece_after=round(after.ece, 4),
            nll_before=round(calibration.negative_log_likelihood(raw, labels), 4),
            nll_after=round(calibration.negative_log_likelihood(scaled, labels), 4),
        )
        curves = {"raw": before, f"T = {temperature:.2f}": after}  # the last split's: PrivateTest
    fit = Calibration(
        temperature=temperature,
        fitted_on="PublicTest",
        path="runtime",
        views=views,
        bins=calibration.ECE_BINS,
        store_hash=load_store(store_path).data_hash(),
        splits=splits,
    )
    return fit, curves
