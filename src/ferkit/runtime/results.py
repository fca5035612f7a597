"""Typed results that flow from detector to JSON, CSV, database rows and drawings; dicts only at the edges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


def label_above(probabilities: dict[str, float], threshold: float) -> str | None:
    """The one rule for labels: the most probable class, or None when its probability is under `threshold`."""
    top = max(probabilities, key=probabilities.__getitem__)
    return top if probabilities[top] >= threshold else None


@dataclass
class Face:
    """A detection: integer box in the image's own coordinates, score, and 5 landmarks where the detector has them
    (right eye, left eye, nose tip, right and left mouth corner, as YuNet orders them)."""

    bbox: tuple[int, int, int, int]  # x1, y1, x2, y2
    score: float
    landmarks: np.ndarray | None = None  # (5, 2) float

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]


@dataclass
class FaceResult:
    face_id: int
    bbox: tuple[int, int, int, int]
    score: float
    probabilities: dict[str, float]
    emotion: str | None  # None when the top probability is under the threshold
    age_range: str | None = None
    age: float | None = None
    track_id: int | None = None  # video only: stable while the face stays in view

    @property
    def top_probability(self) -> float:
        return max(self.probabilities.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_id": self.face_id,
            "bbox": [int(v) for v in self.bbox],
            "score": round(float(self.score), 4),
            "emotion": self.emotion,
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "age_range": self.age_range,
            "age": None if self.age is None else round(float(self.age), 1),
            **({"track_id": self.track_id} if self.track_id is not None else {}),
        }


@dataclass
class FrameResult:
    frame_index: int
    time: float  # seconds from the start
    faces: list[FaceResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame_index, "time": round(self.time, 3), "faces": [f.to_dict() for f in self.faces]}

    def csv_rows(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {
                "frame": self.frame_index,
                "time": round(self.time, 3),
                "track_id": f.track_id,
                "x1": f.bbox[0],
                "y1": f.bbox[1],
                "x2": f.bbox[2],
                "y2": f.bbox[3],
                "score": round(f.score, 4),
                "emotion": f.emotion or "",
                "age_range": f.age_range or "",
                "age": _rounded(f.age),
                **{c: round(f.probabilities[c], 4) for c in classes},
            }
            for f in self.faces
        ]


def _rounded(age: float | None) -> float | str:
    return "" if age is None else round(float(age), 1)


@dataclass
class ImageResult:
    file_name: str
    width: int
    height: int
    threshold: float
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None

    def with_threshold(self, threshold: float) -> ImageResult:
        """The same faces, labelled only where the top probability reaches `threshold`."""
        faces = [replace(f, emotion=label_above(f.probabilities, threshold)) for f in self.faces]
        return replace(self, threshold=threshold, faces=faces)

    def to_dict(self) -> dict[str, Any]:
        result = {
            "file_name": self.file_name,
            "width": self.width,
            "height": self.height,
            "threshold": self.threshold,
            "faces": [face.to_dict() for face in self.faces],
        }
        if self.error:
            result["error"] = self.error
        return result

    def csv_rows(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        """One row per face; an image without faces (or that failed) still gets one row saying so."""
        base = {"file_name": self.file_name, "width": self.width, "height": self.height}
        if not self.faces:
            return [{**base, "face_id": "", "error": self.error or "no face"}]
        return [
            {
                **base,
                "face_id": f.face_id,
                "x1": f.bbox[0],
                "y1": f.bbox[1],
                "x2": f.bbox[2],
                "y2": f.bbox[3],
                "score": round(f.score, 4),
                "emotion": f.emotion or "",
                "age_range": f.age_range or "",
                "age": _rounded(f.age),
                **{c: round(f.probabilities[c], 4) for c in classes},
                "error": "",
            }
            for f in self.faces
        ]
