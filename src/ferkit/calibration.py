"""Probabilities people can read: one temperature per model, fitted on the validation split, and the
expected calibration error that says whether "happy 34%" is right about a third of the time.

Scaling by a temperature divides every log-probability by the same number, so the top class, and with it
every accuracy figure, is unchanged: only how sure the model says it is moves.

A file may also take part of FER's class prior out of its answers (`prior_bias`: logit adjustment, Menon et al.,
ICLR 2021), added to the log-probabilities before the temperature: that one does move answers, from the classes
FER has most of (happy, neutral) towards those it has least of (disgust, fear).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
_EPSILON = 1e-12


def scale(probabilities: np.ndarray, temperature: float, log_bias: np.ndarray | None = None) -> np.ndarray:
    """softmax((log p + log_bias) / T), row by row; T > 1 softens, T < 1 sharpens, T = 1 and no bias change
    nothing."""
    if temperature == 1.0 and log_bias is None:
        return probabilities
    logits = np.log(np.clip(probabilities, _EPSILON, 1.0))
    if log_bias is not None:
        logits = logits + log_bias
    logits /= temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    scaled: np.ndarray = (exp / exp.sum(axis=1, keepdims=True)).astype(probabilities.dtype)
    return scaled


def scale_views(
    views: np.ndarray | Sequence[np.ndarray], temperature: float, log_bias: np.ndarray | None = None
) -> np.ndarray:
    """Each view's probabilities scaled, then averaged: what a model with this temperature answers when it is
    asked about several views of each face (a crop and its mirror image), as the analyzer asks."""
    averaged: np.ndarray = np.mean([scale(view, temperature, log_bias) for view in views], axis=0)
    return averaged


def prior_bias(prior: Sequence[float], power: float) -> np.ndarray | None:
    """The log-bias that divides each answer by prior ** power (None for power 0: the answers as trained)."""
    if not power:
        return None
    return -power * np.log(np.clip(np.asarray(prior, np.float64), _EPSILON, 1.0))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], _EPSILON, 1.0)).mean())


def fit_temperature(
    views: np.ndarray | Sequence[np.ndarray],
    labels: np.ndarray,
    low: float = 0.05,
    high: float = 20.0,
    read: Callable[[np.ndarray], np.ndarray] | None = None,
    log_bias: np.ndarray | None = None,
) -> float:
    """The temperature with the least negative log-likelihood of the averaged views ((N, C): one view), by
    golden-section search on log T, where the likelihood is unimodal. Fitting on the views the model is run on
    matters: the mirror average is already less sure than either view, so it wants a lower temperature. `read`
    turns the model's answer into the labels' classes (a FER+ model's eight read as FER2013's seven)."""
    views = [views] if isinstance(views, np.ndarray) and views.ndim == 2 else list(views)
    read = read or (lambda probabilities: probabilities)

    def loss(log_temperature: float) -> float:
        return negative_log_likelihood(read(scale_views(views, float(np.exp(log_temperature)), log_bias)), labels)

    ratio = (np.sqrt(5) - 1) / 2
    a, b = np.log(low), np.log(high)
    for _ in range(80):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if loss(c) < loss(d):
            b = d
        else:
            a = c
    return float(np.exp((a + b) / 2))


@dataclass
class Reliability:
    """Per confidence bin: how sure the model said it was, how often it was right, and how many answers."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted mean gap between confidence and accuracy."""
        total = self.count.sum()
        return float((self.count * np.abs(self.confidence - self.accuracy)).sum() / total) if total else 0.0


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    return answers_reliability(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def answers_reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    """The same from each answer's confidence and whether it was right (answers recorded without the rest)."""
    # Equal-width bins over (0, 1]; a confidence of exactly 1 falls in the last one.
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(index, confidence, bins) / count
        accuracy = np.bincount(index, correct.astype(float), bins) / count
    return Reliability(np.nan_to_num(mean_confidence), np.nan_to_num(accuracy), count)
