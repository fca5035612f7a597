"""Age of a face crop: an ONNX model's distribution over whole years, read as its mean and a range."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.errors import FerkitError
from ferkit.labels import age_range
from ferkit.runtime.recognizer import EmotionRecognizer


class AgeEstimator:
    def __init__(self, model_path: str | Path, threads: int = 0):
        # The ONNX file is a face classifier like the emotion one; only the reading of its output differs.
        self.model = EmotionRecognizer(model_path, threads=threads)
        if self.model.card.label_set != "age":
            raise FerkitError(f"{model_path}: not an age model (label set {self.model.card.label_set!r})")
        self.years = np.arange(len(self.model.classes), dtype=np.float64)

    def estimate(self, crops: list[np.ndarray]) -> list[tuple[float, str]]:
        """(age in whole years, range such as "20-29") for each face crop. Whole years, as the range reads them:
        an estimate of 49.5 is 50, in 50-59, never "49.5" beside "50-59"."""
        if not crops:
            return []
        ages = np.round(self.model.predict_faces(crops) @ self.years)
        return [(float(age), age_range(age)) for age in ages]
