"""MTCNN face detection (Zhang et al. 2016) on onnxruntime: image pyramid -> P-Net proposals -> R-Net
refinement -> O-Net boxes and landmarks. Follows facenet-pytorch's arithmetic, whose weights it runs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ferkit.runtime.boxes import clip_box, is_empty
from ferkit.runtime.results import Face
from ferkit.runtime.session import open_session

WEIGHTS = Path(__file__).parent / "weights" / "mtcnn"


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (areas counted inclusively, as MTCNN does)."""
    if len(boxes) == 0:
        return np.zeros(0, int)
    x1, y1, x2, y2 = boxes.T
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        width = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        height = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = width * height
        overlap = inter / np.minimum(area[i], area[rest]) if mode == "min" else inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.array(keep, int)


def square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (MTCNN's `rerec`)."""
    boxes = boxes.copy()
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    boxes[:, 0] += width * 0.5 - side * 0.5
    boxes[:, 1] += height * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply box offsets predicted as shares of the (inclusive) box size (MTCNN's `bbreg`)."""
    boxes = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, :4] += offsets * np.stack([width, height, width, height], axis=1)
    return boxes


def normalise(pixels: np.ndarray) -> np.ndarray:
    return ((pixels - 127.5) * 0.0078125).astype(np.float32)


class MTCNNDetector:
    name = "mtcnn"
    default_confidence = 0.9

    def __init__(
        self,
        confidence: float | None = None,
        min_face: int = 20,
        factor: float = 0.709,
        stage_thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        threads: int = 0,
    ):
        self.confidence = self.default_confidence if confidence is None else confidence
        self.min_face, self.factor, self.thresholds = min_face, factor, stage_thresholds
        # Three networks run in turn on many small inputs: no spinning between them (open_session's default).
        self.nets = {name: open_session(WEIGHTS / f"{name}.onnx", threads) for name in ("pnet", "rnet", "onet")}

    def _run(self, name: str, images: np.ndarray) -> dict[str, np.ndarray]:
        session = self.nets[name]
        outputs = session.run(None, {"image": images})
        return {meta.name: value for meta, value in zip(session.get_outputs(), outputs)}

    def detect(self, image: np.ndarray) -> list[Face]:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32)
        boxes = self._propose(rgb)
        if len(boxes):
            boxes = self._refine(rgb, boxes)
        if not len(boxes):
            return []
        boxes, landmarks = self._output(rgb, boxes)
        height, width = image.shape[:2]
        faces = []
        for box, points in zip(boxes, landmarks):
            clipped = clip_box(box, width, height)
            if not is_empty(clipped):
                faces.append(Face(clipped, float(box[4]), points))
        return faces

    def _scales(self, height: int, width: int) -> list[float]:
        scale = 12.0 / self.min_face
        shortest = min(height, width) * scale
        scales = []
        while shortest >= 12:
            scales.append(scale)
            scale *= self.factor
            shortest *= self.factor
        return scales

    def _propose(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        candidates = []
        for scale in self._scales(height, width):
            resized = cv2.resize(rgb, (int(width * scale + 1), int(height * scale + 1)), interpolation=cv2.INTER_AREA)
            out = self._run("pnet", normalise(resized).transpose(2, 0, 1)[None])
            probability, offsets = out["prob"][0, 1], out["reg"][0]
            rows, cols = np.nonzero(probability >= self.thresholds[0])
            if not len(rows):
                continue
            cells = np.stack([cols, rows], axis=1).astype(np.float32)
            found = np.concatenate(
                [
                    np.floor((2 * cells + 1) / scale),
                    np.floor((2 * cells + 12) / scale),
                    probability[rows, cols, None],
                    offsets[:, rows, cols].T,
                ],
                axis=1,
            )
            candidates.append(found[nms(found[:, :4], found[:, 4], 0.5)])
        if not candidates:
            return np.zeros((0, 5), np.float32)
        boxes = np.concatenate(candidates)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, axis=1)
        refined = boxes[:, :4] + boxes[:, 5:9] * size
        return square(np.concatenate([refined, boxes[:, 4:5]], axis=1))

    def _crops(self, rgb: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
        height, width = rgb.shape[:2]
        crops = []
        for x1, y1, x2, y2 in np.trunc(boxes[:, :4]).astype(int):
            x1, y1, x2, y2 = max(x1, 1), max(y1, 1), min(x2, width), min(y2, height)
            patch = rgb[y1 - 1 : y2, x1 - 1 : x2]
            if patch.size == 0:
                patch = np.zeros((side, side, 3), np.float32)
            crops.append(cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA))
        return normalise(np.stack(crops)).transpose(0, 3, 1, 2)

    def _refine(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        out = self._run("rnet", self._crops(rgb, boxes, 24))
        passed = out["prob"][:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[passed, :4], out["prob"][passed, 1:2]], axis=1)
        offsets = out["reg"][passed]
        keep = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return square(regress(boxes[keep], offsets[keep]))

    def _output(self, rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self._run("onet", self._crops(rgb, boxes, 48))
        score = out["prob"][:, 1]
        passed = (score > self.thresholds[2]) & (score >= self.confidence)
        boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
        points = out["landmarks"][passed]
        width = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        height = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        xs = width * points[:, :5] + boxes[:, 0:1] - 1
        ys = height * points[:, 5:] + boxes[:, 1:2] - 1
        landmarks = np.stack([xs, ys], axis=2)
        boxes = regress(boxes, out["reg"][passed])
        keep = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[keep], landmarks[keep]
