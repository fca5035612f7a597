"""Emotion classification of face crops with an ONNX model that describes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit import calibration
from ferkit.card import METADATA_KEY, CardHolder, ModelCard
from ferkit.cpu import kernel_name
from ferkit.errors import FerkitError
from ferkit.faces import center_crops, prepare_faces, resize_faces, ten_crops
from ferkit.labels import canonical
from ferkit.runtime.session import open_session


class EmotionRecognizer(CardHolder):
    def __init__(self, model_path: str | Path, threads: int = 0, spin: bool = False, calibrated: bool = True):
        """`calibrated=False` gives the network's own probabilities, without the file's fitted temperature
        (an ensemble averages its members' raw probabilities and applies a temperature of its own)."""
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

    @property
    def files(self) -> list[Path]:
        return [self.path]

    @property
    def kernel(self) -> str:
        return kernel_name(self.card.weights)

    def predict_faces(self, crops: list[np.ndarray], ten_crop: bool = False) -> np.ndarray:
        """Face crops (any size, gray or BGR) -> (N, classes) probabilities."""
        faces = prepare_faces(crops, self.image_size, self.preprocessing.equalize)
        return self.predict_prepared(faces, ten_crop)

    def predict_prepared(self, faces: np.ndarray, ten_crop: bool = False, batch_size: int = 256) -> np.ndarray:
        """(N, S, S) uint8 faces already at the model's image size and equalisation -> probabilities."""
        faces = resize_faces(faces, self.image_size)
        size = self.preprocessing.input_size
        outputs = []
        step = max(batch_size // 10, 1) if ten_crop else batch_size
        for start in range(0, len(faces), step):
            chunk = faces[start : start + step]
            views = ten_crops(chunk, size) if ten_crop else center_crops(chunk, size)
            count, n = views.shape[:2]
            pixels = np.ascontiguousarray(views.reshape(count * n, 1, size, size), dtype=np.float32)
            probabilities = self.session.run(None, {self.input_name: pixels})[0]
            outputs.append(probabilities.reshape(count, n, -1).mean(axis=0))
        if not outputs:
            return np.zeros((0, len(self.classes)), np.float32)
        return calibration.scale(np.concatenate(outputs), self.temperature)  # after averaging any crops
