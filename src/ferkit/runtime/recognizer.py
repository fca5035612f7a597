"""Emotion classification of face crops with an ONNX model that describes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit import calibration
from ferkit.card import METADATA_KEY, CardHolder, ModelCard
from ferkit.cpu import kernel_name
from ferkit.errors import FerkitError
from ferkit.faces import prepare_faces, resize_faces
from ferkit.labels import canonical
from ferkit.runtime.session import open_session
from ferkit.views import Views, center_crops


class EmotionRecognizer(CardHolder):
    def __init__(self, model_path: str | Path, threads: int = 0, spin: bool = False, calibrated: bool = True):
        """`calibrated=False` gives the network's own probabilities, without the file's fitted temperature and
        prior correction (an ensemble averages its members' raw probabilities and applies its own)."""
        path = Path(model_path)
        if not path.is_file():
            raise FerkitError(f"{path}: no such model file")
        try:
            self.session = open_session(path, threads, spin)
            card_json = self.session.get_modelmeta().custom_metadata_map[METADATA_KEY]
        except KeyError:
            raise FerkitError(
                f"{path}: an ONNX file without ferkit metadata (export it with `ferkit export`)"
            ) from None
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise FerkitError(f"{path}: not a loadable ONNX model ({error})") from None
        self.path = path
        self.card = ModelCard.from_json(card_json, str(path))
        # One vocabulary for every model: FER+'s files say happiness, sadness and anger, and answer happy, sad
        # and angry like the others, so switching models keeps the CSV columns and JSON keys.
        self.classes: tuple[str, ...] = tuple(canonical(name) for name in self.card.classes)
        self.input_name = self.session.get_inputs()[0].name
        self.temperature = self.card.temperature if calibrated else 1.0
        self.log_bias = self.card.calibration.log_bias if calibrated else None

    @property
    def files(self) -> list[Path]:
        return [self.path]

    @property
    def kernel(self) -> str:
        return kernel_name(self.card.weights)

    def predict_faces(self, crops: list[np.ndarray], views: Views = Views.CENTRE) -> np.ndarray:
        """Face crops (any size, gray or BGR) -> (N, classes) probabilities."""
        return self.predict_prepared(self.prepare(crops), views)

    def prepare(self, crops: list[np.ndarray]) -> np.ndarray:
        """Face crops as a detector cuts them -> (N, S, S) faces as this model was trained on."""
        return prepare_faces(crops, self.image_size, self.preprocessing.equalize)

    def predict_prepared(self, faces: np.ndarray, views: Views = Views.CENTRE) -> np.ndarray:
        """(N, S, S) uint8 faces already at the model's image size and equalisation -> probabilities: each view's
        answer at the model's temperature (and prior correction), averaged (the rule they were fitted under)."""
        return calibration.scale_views(self.view_probabilities(faces, views), self.temperature, self.log_bias)

    def predict_crops(self, crops: np.ndarray) -> np.ndarray:
        """(N, side, side) crops already cut (float grey levels: an augmented view a student trains on), side at
        least the model's input size -> probabilities at the model's temperature (and prior correction)."""
        return calibration.scale(self.crop_probabilities(crops), self.temperature, self.log_bias)

    def crop_probabilities(self, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(N, classes): the network's own probabilities for crops cut already; a crop larger than the model's
        input gives it its centre, as the centre view of a face gives a model of a smaller input (an ensemble's
        40-pixel member beside 44-pixel ones)."""
        size = self.preprocessing.input_size
        if min(crops.shape[1:]) < size:
            raise FerkitError(f"{self.path.name} reads {size}x{size} crops, not {crops.shape[1]}x{crops.shape[2]}")
        crops = center_crops(crops, size)[0]
        outputs = [
            self.session.run(
                None, {self.input_name: np.ascontiguousarray(crops[start : start + batch_size, None], np.float32)}
            )[0]
            for start in range(0, len(crops), batch_size)
        ]
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.classes)), np.float32)

    def view_probabilities(self, faces: np.ndarray, views: Views, batch_size: int = 256) -> np.ndarray:
        """(views, N, classes): the network's own probabilities for each view of each face, before any
        temperature."""
        faces = resize_faces(faces, self.image_size)
        size = self.preprocessing.input_size
        outputs = []
        step = max(batch_size // views.per_face, 1)  # keeps the crops per session call near batch_size
        for start in range(0, len(faces), step):
            crops = views.crops(faces[start : start + step], size)
            count, n = crops.shape[:2]
            pixels = np.ascontiguousarray(crops.reshape(count * n, 1, size, size), dtype=np.float32)
            outputs.append(self.session.run(None, {self.input_name: pixels})[0].reshape(count, n, -1))
        if not outputs:
            return np.zeros((views.per_face, 0, len(self.classes)), np.float32)
        return np.concatenate(outputs, axis=1)
