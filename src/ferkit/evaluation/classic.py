"""The classic baseline: HOG features and a linear SVM, behind the same predictor interface as the networks,
so `ferkit evaluate` and the model card measure it as they measure them. numpy and OpenCV only.

The file (`hog_svm.npz`, no pickles) holds the SVM's weights and bias, the feature standardisation and the
model card. Its probabilities are a softmax of the SVM's margins: good for ranking, not calibrated."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ferkit.card import CardHolder, ModelCard
from ferkit.errors import FerkitError
from ferkit.views import Views

MODEL_FILE = "hog_svm.npz"


def hog_features(faces: np.ndarray) -> np.ndarray:
    """(N, 48, 48) uint8 faces -> (N, 900) HOG: 8-pixel cells, 9 orientations, 2x2-cell blocks every 8 pixels."""
    size = faces.shape[1]
    descriptor = cv2.HOGDescriptor((size, size), (16, 16), (8, 8), (8, 8), 9)
    return np.stack([np.asarray(descriptor.compute(np.ascontiguousarray(face))).ravel() for face in faces])


class HogSvmPredictor(CardHolder):
    def __init__(self, path: str | Path):
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        try:
            with np.load(path, allow_pickle=False) as saved:
                self.weights, self.bias = saved["weights"], saved["bias"]
                self.mean, self.scale = saved["mean"], saved["scale"]
                card_json = str(saved["card"])
        except (OSError, KeyError, ValueError) as error:
            raise FerkitError(f"{path}: not a ferkit HOG+SVM model ({error})") from None
        self.path = path
        self.card = ModelCard.from_json(card_json, str(path))
        self.classes = self.card.classes

    def predict_prepared(self, faces: np.ndarray, views: Views = Views.CENTRE) -> np.ndarray:
        if views is not Views.CENTRE:
            raise FerkitError(f"the HOG+SVM baseline reads whole faces: views {views.value} need crops")
        margins = self.margins(faces)
        exp = np.exp(margins - margins.max(axis=1, keepdims=True))
        probabilities: np.ndarray = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return probabilities

    def margins(self, faces: np.ndarray) -> np.ndarray:
        features = (hog_features(faces) - self.mean) / self.scale
        margins: np.ndarray = features @ self.weights.T + self.bias
        return margins

    @staticmethod
    def save(
        path: Path, weights: np.ndarray, bias: np.ndarray, mean: np.ndarray, scale: np.ndarray, card: ModelCard
    ) -> None:
        with open(path, "wb") as handle:  # np.savez would append .npz to a name without it
            np.savez(handle, weights=weights, bias=bias, mean=mean, scale=scale, card=np.array(card.to_json()))
