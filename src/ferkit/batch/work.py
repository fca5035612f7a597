"""Analysing one input into rows: the unit of work both engines share, so they give the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ferkit.errors import FerkitError
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.images import is_video
from ferkit.runtime.options import VideoOptions
from ferkit.runtime.results import FaceResult, row_columns

PROBABILITY_PREFIX = "p_"
BATCH_EVERY = 10  # a batch's videos: every 10th frame, since a collection is summarised, not watched
Row = dict[str, Any]  # one face (or one input without a face), by column name: row_fields


def row_fields(classes: list[str]) -> list[str]:
    """The batch table's columns: where a row comes from, the face's own columns (runtime.results), and why."""
    return ["path", "frame", *row_columns(classes, PROBABILITY_PREFIX), "status", "error"]


def face_row(path: str, frame: int, face: FaceResult) -> Row:
    row = face.to_row(list(face.probabilities), prefix=PROBABILITY_PREFIX, digits=None)
    return {"path": path, "frame": frame, **row, "status": "face", "error": None}


def empty_row(path: str, frame: int, status: str, error: str | None = None) -> Row:
    """An input (or frame) without a face: the face's columns stay empty (None)."""
    return {"path": path, "frame": frame, "status": status, "error": error}


@dataclass(frozen=True)
class WorkSpec:
    """Everything a worker needs to analyse inputs, sent whole to each process or Ray actor."""

    options: AnalyzerOptions = field(default_factory=AnalyzerOptions)
    model: str | None = None
    age_model: str | None = None
    video: VideoOptions = field(default_factory=lambda: VideoOptions(every=BATCH_EVERY))

    def single_threaded(self) -> WorkSpec:
        # Each process runs single-threaded inference: the pool, not the threads, spreads the work.
        return replace(self, options=replace(self.options, threads=1))


class Worker:
    """Holds one Analyzer (models loaded once) and turns an input path into rows; never raises for bad input."""

    def __init__(self, spec: WorkSpec):
        self.analyzer = Analyzer(spec.options, model=spec.model, age_model=spec.age_model)
        self.video = spec.video

    def rows(self, path: str) -> list[Row]:
        try:
            return self._video_rows(path) if is_video(path) else self._image_rows(path)
        except FerkitError as error:
            return [empty_row(path, -1, "error", str(error))]
        except Exception as error:  # one broken input must never stop a batch of millions
            return [empty_row(path, -1, "error", f"{type(error).__name__}: {error}")]

    def _image_rows(self, path: str) -> list[Row]:
        result = self.analyzer.analyze_path(path)
        return [face_row(path, -1, face) for face in result.faces] or [empty_row(path, -1, "no_face")]

    def _video_rows(self, path: str) -> list[Row]:
        from ferkit.runtime.video import analyze_video

        result = analyze_video(path, self.analyzer, self.video, progress=False)
        rows: list[Row] = []
        for frame in result.frames:
            rows += [face_row(path, frame.frame_index, face) for face in frame.faces] or [
                empty_row(path, frame.frame_index, "no_face")
            ]
        if result.error:
            rows.append(empty_row(path, result.frames_read, "error", result.error))
        return rows or [empty_row(path, -1, "no_face")]
