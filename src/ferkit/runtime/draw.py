"""Annotated images: box, emotion, probability and age range, readable at any image size."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ferkit.runtime.results import FaceResult

# BGR colours per emotion, shared by every drawing (photos, video, web page legend).
COLOURS = {
    "angry": (40, 40, 220),
    "anger": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (150, 60, 150),
    "happy": (40, 200, 250),
    "happiness": (40, 200, 250),
    "sad": (200, 120, 40),
    "sadness": (200, 120, 40),
    "surprise": (240, 160, 240),
    "neutral": (190, 190, 190),
    "contempt": (60, 110, 180),
}


def label_text(face: FaceResult) -> str:
    text = f"{face.emotion} {face.top_probability:.0%}" if face.emotion else f"? {face.top_probability:.0%}"
    return f"{text}, {face.age_range}" if face.age_range else text


def annotate(image: np.ndarray, faces: list[FaceResult]) -> np.ndarray:
    """A copy of the BGR image with every face drawn; line and text scale with the image size."""
    canvas = image.copy()
    scale = max(min(canvas.shape[:2]) / 700, 0.45)
    thickness = max(int(round(2 * scale)), 1)
    placed: list[tuple[int, int, int, int]] = []
    for face in faces:
        colour = COLOURS.get(face.emotion or "", (160, 160, 160))
        x1, y1, x2, y2 = face.bbox
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        # A video's face is named by its track, as in its CSV, JSON and timeline; a photo's by its number.
        text = f"#{face.face_id if face.track_id is None else face.track_id} {label_text(face)}"
        (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, thickness)
        left, top, right, bottom = place_label(face.bbox, (width + 4, height + baseline + 4), canvas.shape, placed)
        placed.append((left, top, right, bottom))
        cv2.rectangle(canvas, (left, top), (right, bottom), colour, cv2.FILLED)
        cv2.putText(
            canvas,
            text,
            (left + 2, top + height + 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            (0, 0, 0),
            thickness,
            cv2.LINE_AA,
        )
    return canvas


def place_label(
    bbox: Sequence[int], size: tuple[int, int], shape: tuple[int, ...], placed: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int]:
    """Where a label goes: above the box, else below it, else just inside its top; always within the
    image, and in the first of those spots that hides no label already drawn (faces side by side in a
    group photo would otherwise cover each other's text)."""
    x1, y1, _, y2 = bbox
    width, height = size
    left = max(min(x1, shape[1] - width), 0)
    spots = [y1 - height, y2, y1]
    inside = [top for top in spots if 0 <= top <= shape[0] - height] or [max(min(y1, shape[0] - height), 0)]
    for top in inside:
        box = (left, top, left + width, top + height)
        if not any(_overlap(box, other) for other in placed):
            return box
    return (left, inside[0], left + width, inside[0] + height)


def _overlap(a: Sequence[int], b: Sequence[int]) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
