"""Face detectors as a registry of names, each with its weights shipped in the package.

detector = create_detector("yunet", confidence=0.7)
faces = detector.detect(image_bgr)   # list[Face], boxes in image coordinates
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import FerkitError
from ferkit.runtime.mtcnn import MTCNNDetector
from ferkit.runtime.results import Face

WEIGHTS = Path(__file__).parent / "weights"


def _clip_box(x1, y1, x2, y2, width, height) -> tuple[int, int, int, int]:
    return (int(max(0, round(x1))), int(max(0, round(y1))), int(min(width, round(x2))), int(min(height, round(y2))))


class YuNetDetector:
    """YuNet (OpenCV's FaceDetectorYN): fast, accurate on real photos, gives 5 landmarks."""

    name = "yunet"
    default_confidence = 0.7

    def __init__(self, confidence: float | None = None):
        self.confidence = self.default_confidence if confidence is None else confidence
        self.model = cv2.FaceDetectorYN.create(
            str(WEIGHTS / "yunet" / "face_detection_yunet_2023mar.onnx"), "", (320, 320), self.confidence, 0.3, 5000
        )

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        self.model.setInputSize((width, height))
        _, rows = self.model.detect(image)
        faces = []
        for row in rows if rows is not None else []:
            x, y, w, h = row[:4]
            faces.append(
                Face(_clip_box(x, y, x + w, y + h, width, height), float(row[14]), row[4:14].reshape(5, 2).copy())
            )
        return faces


class SSDDetector:
    """OpenCV's ResNet-10 SSD (TensorFlow uint8 weights) at 300x300: fewer false detections, lower recall."""

    name = "ssd"
    default_confidence = 0.5

    def __init__(self, confidence: float | None = None):
        self.confidence = self.default_confidence if confidence is None else confidence
        folder = WEIGHTS / "ssd"
        self.net = cv2.dnn.readNetFromTensorflow(
            str(folder / "opencv_face_detector_uint8.pb"), str(folder / "opencv_face_detector.pbtxt")
        )

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, 1.0, (300, 300), (104.0, 177.0, 123.0), swapRB=False, crop=False)
        self.net.setInput(blob)
        detections = self.net.forward()[0, 0]
        faces = []
        for detection in detections:
            score = float(detection[2])
            if score < self.confidence:
                continue
            box = _clip_box(*(detection[3:7] * [width, height, width, height]), width, height)
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(Face(box, score))
        return faces


class HaarDetector:
    """Viola-Jones frontal-face cascade: the classic baseline (no scores, so every hit scores 1.0)."""

    name = "haar"
    default_confidence = 0.0

    def __init__(self, confidence: float | None = None):
        if not hasattr(cv2, "CascadeClassifier"):
            raise FerkitError(
                "the haar detector needs OpenCV 4.x (OpenCV 5 dropped CascadeClassifier); "
                "install opencv-python-headless<5 or use --detector yunet"
            )
        self.cascade = cv2.CascadeClassifier(str(WEIGHTS / "haar" / "haarcascade_frontalface_default.xml"))
        if self.cascade.empty():
            raise FerkitError("the Haar cascade file could not be loaded")
        # Haar gives no confidence: `confidence` maps to minNeighbors (more neighbours, fewer false hits).
        self.min_neighbors = 5 if not confidence else max(1, int(round(confidence * 10)))

    def detect(self, image: np.ndarray) -> list[Face]:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(24, 24))
        height, width = gray.shape
        return [Face(_clip_box(x, y, x + w, y + h, width, height), 1.0) for x, y, w, h in boxes]


class WholeImage:
    """`--detector none`: each image is already one face crop (a data set's 48x48 faces, a thumbnail) and is
    classified whole, framed as the training faces were, instead of searched for a face: on 48x48 lab crops a
    detector's box costs about 10 points of accuracy."""

    name = "none"

    def __init__(self, confidence: float | None = None):
        pass  # nothing to be confident about

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        return [Face((0, 0, width, height), 1.0)]


DETECTORS = {cls.name: cls for cls in (YuNetDetector, SSDDetector, MTCNNDetector, HaarDetector)}
DEFAULT_DETECTOR = "yunet"


def list_detectors() -> list[str]:
    """Every name `create_detector` takes: the face detectors, then "none" (the whole image is the face)."""
    return [*DETECTORS, WholeImage.name]


def create_detector(name: str = DEFAULT_DETECTOR, confidence: float | None = None):
    if name == WholeImage.name:
        return WholeImage()
    if name not in DETECTORS:
        raise FerkitError(f"unknown detector {name!r}; known: {', '.join(list_detectors())}")
    return DETECTORS[name](confidence)
