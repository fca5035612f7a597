"""Face detectors as a registry of names, each with its weights shipped in the package.

detector = create_detector("yunet", confidence=0.7)
faces = detector.detect(image_bgr)   # list[Face], boxes in image coordinates
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ferkit.errors import FerkitError
from ferkit.runtime.boxes import clip_box
from ferkit.runtime.mtcnn import MTCNNDetector
from ferkit.runtime.results import Face
from ferkit.runtime.session import open_session

WEIGHTS = Path(__file__).parent / "weights"


class YuNetDetector:
    """YuNet (OpenCV Zoo's 2023 model): fast, accurate on real photos, gives 5 landmarks.

    Run on onnxruntime rather than OpenCV's FaceDetectorYN, with the same decoding (scores, boxes and landmarks
    per anchor of strides 8, 16 and 32, then non-maximum suppression), so the faces are the same: on 640x480
    photos (AVX2-only EPYC, 2 threads) the network took 12 ms against OpenCV's 23."""

    name = "yunet"
    default_confidence = 0.7
    nms_threshold = 0.3
    strides = (8, 16, 32)

    def __init__(self, confidence: float | None = None, threads: int = 0):
        self.confidence = self.default_confidence if confidence is None else confidence
        self.session = open_session(WEIGHTS / "yunet" / "face_detection_yunet_2023mar_any_size.onnx", threads)
        self.output_names = [output.name for output in self.session.get_outputs()]

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        # The network halves the size five times: pad (bottom and right, with zeros) to a multiple of 32.
        padded = np.zeros((1, 3, -(-height // 32) * 32, -(-width // 32) * 32), np.float32)
        padded[0, :, :height, :width] = image[:, :, :3].transpose(2, 0, 1)
        outputs = dict(zip(self.output_names, self.session.run(None, {"input": padded})))
        per_stride = [self._decode(outputs, stride, padded.shape[3] // stride) for stride in self.strides]
        boxes_xywh, all_scores, all_landmarks = (np.concatenate(parts) for parts in zip(*per_stride))
        keep = cv2.dnn.NMSBoxes(
            boxes_xywh.tolist(), all_scores.tolist(), self.confidence, self.nms_threshold, top_k=5000
        )
        faces = []
        for index in np.asarray(keep, int).reshape(-1):
            x, y, w, h = boxes_xywh[index]
            box = clip_box((x, y, x + w, y + h), width, height)
            faces.append(Face(box, float(all_scores[index]), all_landmarks[index].reshape(5, 2).copy()))
        return faces

    def _decode(
        self, outputs: dict[str, np.ndarray], stride: int, columns: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Anchors above the confidence: (N, 4) x, y, width, height boxes, (N,) scores, (N, 10) landmarks."""
        cls, obj = outputs[f"cls_{stride}"][0, :, 0], outputs[f"obj_{stride}"][0, :, 0]
        scores = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        chosen = np.flatnonzero(scores >= self.confidence)
        rows, cols = np.divmod(chosen, columns)
        anchors = np.stack([cols, rows], axis=1).astype(np.float32)
        deltas = outputs[f"bbox_{stride}"][0, chosen]
        sizes = np.exp(deltas[:, 2:]) * stride
        centres = (anchors + deltas[:, :2]) * stride
        points = (outputs[f"kps_{stride}"][0, chosen].reshape(-1, 5, 2) + anchors[:, None, :]) * stride
        return np.hstack([centres - sizes / 2, sizes]), scores[chosen], points.reshape(-1, 10)


class SSDDetector:
    """OpenCV's ResNet-10 SSD (TensorFlow uint8 weights) at 300x300: fewer false detections, lower recall."""

    name = "ssd"
    default_confidence = 0.5

    def __init__(self, confidence: float | None = None, threads: int = 0):  # OpenCV's own threads
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
            box = clip_box(detection[3:7] * [width, height, width, height], width, height)
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(Face(box, score))
        return faces


class HaarDetector:
    """Viola-Jones frontal-face cascade: the classic baseline (no scores, so every hit scores 1.0)."""

    name = "haar"
    default_confidence = 0.0

    def __init__(self, confidence: float | None = None, threads: int = 0):  # OpenCV's own threads
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
        return [Face(clip_box((x, y, x + w, y + h), width, height), 1.0) for x, y, w, h in boxes]


class WholeImage:
    """`--detector none`: each image is already one face crop (a data set's 48x48 faces, a thumbnail) and is
    classified whole, framed as the training faces were, instead of searched for a face: on 48x48 lab crops a
    detector's box costs about 10 points of accuracy."""

    name = "none"

    def __init__(self, confidence: float | None = None, threads: int = 0):  # OpenCV's own threads
        pass  # nothing to be confident about

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        return [Face((0, 0, width, height), 1.0)]


DETECTORS = {cls.name: cls for cls in (YuNetDetector, SSDDetector, MTCNNDetector, HaarDetector)}
DEFAULT_DETECTOR = "yunet"


def list_detectors() -> list[str]:
    """Every name `create_detector` takes: the face detectors, then "none" (the whole image is the face)."""
    return [*DETECTORS, WholeImage.name]


def checked_detector(name: str) -> str:
    """The one check of a detector's name, whichever door it came through (options, the CLI, create_detector)."""
    if name not in list_detectors():
        raise FerkitError(f"unknown detector {name!r}; known: {', '.join(list_detectors())}")
    return name


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Face]: ...


def create_detector(name: str = DEFAULT_DETECTOR, confidence: float | None = None, threads: int = 0) -> Detector:
    """A detector by name; `threads` bounds its onnxruntime sessions (YuNet, MTCNN) as the Analyzer's models."""
    if checked_detector(name) == WholeImage.name:
        return WholeImage()
    return DETECTORS[name](confidence, threads=threads)
