"""Video files, streams and cameras: per-frame faces with stable track ids, smoothed probabilities,
an annotated copy, a CSV written as frames go by, and per-track summaries.

    result = analyze_video("clip.mp4", Analyzer(), every=2, smooth=0.6, annotated="out.mp4", csv_path="faces.csv")
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ferkit.errors import FerkitError
from ferkit.progress import Progress
from ferkit.runtime.analyzer import Analyzer
from ferkit.runtime.draw import annotate
from ferkit.runtime.results import FaceResult, FrameResult
from ferkit.runtime.tracking import IouTracker, Smoother


@dataclass
class TrackSummary:
    track_id: int
    first_seen: float
    last_seen: float
    frames: int
    dominant_emotion: str | None
    shares: dict[str, float]  # share of the track's analysed frames spent in each emotion

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "first_seen": round(self.first_seen, 3),
            "last_seen": round(self.last_seen, 3),
            "frames": self.frames,
            "dominant_emotion": self.dominant_emotion,
            "shares": {k: round(v, 4) for k, v in self.shares.items()},
        }


@dataclass
class _TrackStats:
    first_seen: float
    last_seen: float
    frames: int = 0
    labels: Counter = field(default_factory=Counter)


@dataclass
class VideoResult:
    """Frames (kept unless `keep_frames` is off, for long inputs) and per-track statistics, which are
    always accumulated as frames arrive, so summaries cost no memory per frame."""

    source: str
    width: int
    height: int
    fps: float
    classes: tuple[str, ...]
    keep_frames: bool = True
    frames_read: int = 0
    analysed_frames: int = 0
    frames: list[FrameResult] = field(default_factory=list)
    error: str | None = None
    _stats: dict[int, _TrackStats] = field(default_factory=dict, repr=False)

    def add(self, frame: FrameResult) -> None:
        self.analysed_frames += 1
        if self.keep_frames:
            self.frames.append(frame)
        for face in frame.faces:
            stats = self._stats.setdefault(face.track_id, _TrackStats(frame.time, frame.time))
            stats.last_seen, stats.frames = frame.time, stats.frames + 1
            if face.emotion:
                stats.labels[face.emotion] += 1

    def tracks(self) -> list[TrackSummary]:
        summaries = []
        for track_id, stats in sorted(self._stats.items()):
            shares = {c: stats.labels.get(c, 0) / stats.frames for c in self.classes}
            dominant = stats.labels.most_common(1)[0][0] if stats.labels else None
            summaries.append(TrackSummary(track_id, stats.first_seen, stats.last_seen, stats.frames, dominant, shares))
        return summaries

    def to_dict(self) -> dict:
        result = {
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames_read": self.frames_read,
            "analysed_frames": self.analysed_frames,
            "tracks": [t.to_dict() for t in self.tracks()],
            "frames": [f.to_dict() for f in self.frames],
        }
        if self.error:
            result["error"] = self.error
        return result


def open_capture(source: str | int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(int(source) if str(source).isdigit() else str(source))
    if not capture.isOpened():
        raise FerkitError(f"{source}: cannot open as a video, stream or camera")
    return capture


class VideoFrames:
    """Frames from a capture with their index; remembers whether the stream ended early."""

    def __init__(self, source: str | int):
        self.source = str(source)
        self.capture = open_capture(source)
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.expected = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None  # None for live streams
        self.read = 0

    def __iter__(self):
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            self.read += 1
            yield self.read - 1, frame

    def truncation_error(self) -> str | None:
        # The container's frame count is an estimate; only a clear shortfall means a cut or damaged file.
        if self.expected and self.read < self.expected * 0.98 - 1:
            return f"{self.source}: video ended after {self.read} of {self.expected} frames (truncated or corrupt)"
        return None

    def release(self) -> None:
        self.capture.release()


class FrameAnalyzer:
    """One frame at a time: detect and classify, give stable ids, smooth per track."""

    def __init__(self, analyzer: Analyzer, smooth: float = 0.0, max_missed: int = 5):
        self.analyzer, self.tracker, self.smoother = analyzer, IouTracker(max_missed=max_missed), Smoother(smooth)

    def __call__(self, frame: np.ndarray, index: int, seconds: float) -> FrameResult:
        faces = self.analyzer.analyze(frame).faces
        ids = self.tracker.update([face.bbox for face in faces])
        classes = self.analyzer.classes
        for face, track_id in zip(faces, ids):
            face.track_id = face.face_id = track_id
            smoothed = self.smoother(track_id, np.array([face.probabilities[c] for c in classes]))
            face.probabilities = dict(zip(classes, smoothed.tolist()))
            top = max(face.probabilities, key=face.probabilities.get)
            face.emotion = top if face.probabilities[top] >= self.analyzer.options.threshold else None
        self.smoother.forget(t.track_id for t in self.tracker.tracks)
        return FrameResult(index, seconds, faces)


def analyze_video(
    source: str | int,
    analyzer: Analyzer,
    *,
    every: int = 1,
    smooth: float = 0.0,
    annotated: str | None = None,
    csv_path: str | None = None,
    progress: bool = True,
    keep_frames: bool = True,
    on_frame: Callable[[np.ndarray, FrameResult | None, float], bool] | None = None,
) -> VideoResult:
    """Analyse every `every`-th frame. `on_frame(drawn_frame, result, fps)` may show the frame and returns
    False to stop (the webcam's `q`). Outputs written so far are kept when the stream breaks."""
    if every < 1:
        raise FerkitError("--every must be 1 or more")
    frames = VideoFrames(source)
    result = VideoResult(frames.source, frames.width, frames.height, frames.fps, analyzer.classes, keep_frames)
    per_frame = FrameAnalyzer(analyzer, smooth, max_missed=max(2, round(frames.fps / every / 2)))
    writer = _video_writer(annotated, frames.fps, frames.width, frames.height) if annotated else None
    table = _CsvRows(csv_path, analyzer.classes) if csv_path else None
    bar = Progress(frames.expected, f"{frames.source}", "frames") if progress else None
    last_faces: list[FaceResult] = []
    rate, started = 0.0, time.perf_counter()
    try:
        for index, frame in frames:
            frame_result = None
            if index % every == 0:
                frame_result = per_frame(frame, index, index / frames.fps)
                result.add(frame_result)
                last_faces = frame_result.faces
                if table:
                    table.write(frame_result)
            rate = (index + 1) / max(time.perf_counter() - started, 1e-9)
            drawn = annotate(frame, last_faces) if (writer or on_frame) else frame
            if writer:
                writer.write(drawn)
            if bar:
                bar.update(1, f"{len(last_faces)} face(s)")
            if on_frame and on_frame(drawn, frame_result, rate) is False:
                break
    finally:
        result.frames_read = frames.read
        result.error = frames.truncation_error() if on_frame is None else None
        frames.release()
        if writer:
            writer.release()
        if table:
            table.close()
        if bar:
            bar.close()
    return result


def run_webcam(
    source: str | int,
    analyzer: Analyzer,
    *,
    window=None,
    record: str | None = None,
    every: int = 1,
    smooth: float = 0.6,
    max_frames: int | None = None,
) -> VideoResult:
    """The same path as a video file, shown live with an FPS counter; `q` or Escape (or closing) quits."""
    from ferkit.runtime.window import draw_fps, open_window

    window = window or open_window("ferkit webcam (q quits)")
    shown = 0

    def show(frame, _result, fps) -> bool:
        nonlocal shown
        shown += 1
        keep_going = window.show(draw_fps(frame, fps))
        return keep_going and (max_frames is None or shown < max_frames)

    try:
        return analyze_video(
            source,
            analyzer,
            every=every,
            smooth=smooth,
            annotated=record,
            progress=False,
            keep_frames=False,
            on_frame=show,
        )
    finally:
        window.close()


def _video_writer(path: str, fps: float, width: int, height: int) -> cv2.VideoWriter:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise FerkitError(f"{path}: cannot write a video here (use an .mp4 path in a writable folder)")
    return writer


class _CsvRows:
    """Rows go to disk as each frame is analysed, so a crash or a cut stream loses nothing already seen."""

    def __init__(self, path: str, classes):
        self.handle = open(path, "w", newline="")
        columns = [
            "frame",
            "time",
            "track_id",
            "x1",
            "y1",
            "x2",
            "y2",
            "score",
            "emotion",
            "age_range",
            "age",
            *classes,
        ]
        self.writer = csv.DictWriter(self.handle, fieldnames=columns)
        self.writer.writeheader()
        self.classes = classes

    def write(self, frame: FrameResult) -> None:
        self.writer.writerows(frame.csv_rows(self.classes))
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
