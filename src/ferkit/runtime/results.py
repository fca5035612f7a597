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


# A face as flat columns, then one probability column per class: the one row shape of the photo and video CSVs,
# the batch Parquet and the service's database rows (FaceResult.to_row).
FACE_COLUMNS = ("face_id", "x1", "y1", "x2", "y2", "score", "emotion", "age_range", "age")


def row_columns(classes: Sequence[str], prefix: str = "") -> list[str]:
    """FaceResult.to_row's columns, in order."""
    return [*FACE_COLUMNS, *(prefix + name for name in classes)]


def _rounded(value: float | None, digits: int | None) -> float | None:
    if value is None:
        return None
    return float(value) if digits is None else round(float(value), digits)


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

    def to_row(self, classes: Sequence[str] = (), *, prefix: str = "", digits: int | None = 4) -> dict[str, Any]:
        """Flat columns (row_columns(classes, prefix)): the box as x1..y2, probabilities of `classes` as
        prefix+class, scores rounded to `digits` (None: as computed) and the age to a tenth; None where unknown."""
        x1, y1, x2, y2 = (int(v) for v in self.bbox)
        return {
            "face_id": self.face_id,
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "score": _rounded(self.score, digits),
            "emotion": self.emotion,
            "age_range": self.age_range,
            "age": _rounded(self.age, None if digits is None else 1),
            **{prefix + name: _rounded(self.probabilities[name], digits) for name in classes},
        }

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
            {"frame": self.frame_index, "time": round(self.time, 3), "track_id": f.track_id, **f.to_row(classes)}
            for f in self.faces
        ]

    @staticmethod
    def csv_columns(classes: Sequence[str]) -> list[str]:
        return ["frame", "time", "track_id", *row_columns(classes)]


@dataclass
class ImageResult:
    file_name: str
    width: int
    height: int
    threshold: float
    faces: list[FaceResult] = field(default_factory=list)
    faces_dropped: int = 0  # found beyond AnalyzerOptions.max_faces, smaller than every face kept
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
        if self.faces_dropped:
            result["faces_dropped"] = self.faces_dropped
        if self.error:
            result["error"] = self.error
        return result

    def csv_rows(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        """One row per face; an image without faces (or that failed) still gets one row saying so."""
        base = {"file_name": self.file_name, "width": self.width, "height": self.height}
        if not self.faces:
            return [{**base, "error": self.error or "no face"}]
        return [{**base, **face.to_row(classes), "error": None} for face in self.faces]

    @staticmethod
    def csv_columns(classes: Sequence[str]) -> list[str]:
        return ["file_name", "width", "height", *row_columns(classes), "error"]
