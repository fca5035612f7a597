"""`ferkit calibrate`'s measurement: a temperature fitted on PublicTest as the analyzer sees the faces (runtime path,
the views asked for), and what it does to calibration on both test splits, as a typed record for the card."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit import calibration
from ferkit.calibration import Reliability
from ferkit.card import Calibration, Predictor, SplitCalibration
from ferkit.evaluation.evaluate import analyzer_views, labelled_part
from ferkit.labels import in_classes
from ferkit.views import Views

SPLITS = ("PublicTest", "PrivateTest")


def fit_on_store(
    model: Predictor, store_path: str | Path, views: Views, prior_power: float = 0.0
) -> tuple[Calibration, dict[str, Reliability]]:
    """The fitted record, and PrivateTest's reliability curves before and after it (for a diagram). `model`
    answers raw (no temperature of its own): an EmotionRecognizer or ensemble made with calibrated=False. A model
    is calibrated on the store's labels as it is read in them (a FER+ model on FER2013's: its answer in FER2013's
    seven classes, temperature first). With a `prior_power`, the model's mean answer on PublicTest is divided out
    of every answer to that power (calibration.prior_bias) before the temperature is fitted."""
    answered = {split: analyzer_views(model, store_path, split, views) for split in SPLITS}
    store, _, store_classes = labelled_part(model, store_path, "PublicTest")

    def read(probabilities: np.ndarray) -> np.ndarray:
        return in_classes(probabilities, tuple(model.classes), store_classes)

    # Rounded as recorded, so the figures reproduce.
    public_views, public_labels = answered["PublicTest"]
    prior = mean_answer(public_views) if prior_power else ()
    log_bias = calibration.prior_bias(prior, prior_power)
    temperature = round(calibration.fit_temperature(public_views, public_labels, read=read, log_bias=log_bias), 4)
    splits, curves = {}, {}
    for split, (answers, labels) in answered.items():
        raw = read(calibration.scale_views(answers, 1.0))
        scaled = read(calibration.scale_views(answers, temperature, log_bias))
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
        store_hash=store.data_hash(),
        label_set=store.label_set,
        splits=splits,
        prior=prior,
        prior_power=prior_power,
    )
    return fit, curves


def mean_answer(views: np.ndarray) -> tuple[float, ...]:
    """The model's own prior: its mean answer over the faces (each face's views averaged), rounded as recorded."""
    mean = calibration.scale_views(views, 1.0).mean(axis=0)
    return tuple(round(float(share), 6) for share in mean / mean.sum())
