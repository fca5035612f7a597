"""Face boxes, (x1, y1, x2, y2) in an image's pixels: one definition of clipping and overlap for every detector,
the analyzer, the tracker and the detector evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[int, int, int, int]
BoxLike = Sequence[float] | np.ndarray  # x1, y1, x2, y2 in any number type


def clip_box(box: BoxLike, width: int, height: int) -> Box:
    """(x1, y1, x2, y2) rounded to whole pixels and cut to the image; may come out empty (x2 <= x1) for a box
    outside it."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    return (int(max(0, round(x1))), int(max(0, round(y1))), int(min(width, round(x2))), int(min(height, round(y2))))


def is_empty(box: Box) -> bool:
    return box[2] <= box[0] or box[3] <= box[1]


def pairwise_iou(a: BoxLike | Sequence[BoxLike], b: BoxLike | Sequence[BoxLike]) -> np.ndarray:
    """Intersection over union of (N, 4) and (M, 4) boxes -> (N, M)."""
    first, second = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=2)

    def area(boxes: np.ndarray) -> np.ndarray:
        return np.asarray((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))

    union: np.ndarray = area(first)[:, None] + area(second)[None, :] - overlap
    return np.asarray(overlap / np.maximum(union, 1e-9))


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union of two boxes."""
    return float(pairwise_iou(a, b)[0, 0])
