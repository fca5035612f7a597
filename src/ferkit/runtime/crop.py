"""Cutting face crops out of a photo: square, with a margin, optionally rotated so the eyes are level."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ferkit.runtime.results import Face


def eye_angle(landmarks: np.ndarray) -> float:
    """Degrees to rotate so the eyes are level (YuNet order: right eye, then left eye, as seen in the image)."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(image: np.ndarray, face: Face, margin: float = 0.1, align: bool = False) -> np.ndarray:
    """A square crop around the box centre, side = longer box side x (1 + 2 x margin). Pixels outside the
    photo repeat the border, so faces at the edge keep their shape."""
    x1, y1, x2, y2 = face.bbox
    centre = ((x1 + x2) / 2, (y1 + y2) / 2)
    side = max(int(round(max(x2 - x1, y2 - y1) * (1 + 2 * margin))), 1)
    angle = eye_angle(face.landmarks) if align and face.landmarks is not None else 0.0
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    # Move the rotated centre to the middle of the output square.
    matrix[:, 2] += np.array([side / 2 - centre[0], side / 2 - centre[1]])
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
