"""Video files, streams and cameras: per-frame faces with stable track ids, smoothed probabilities,
an annotated copy, a CSV written as frames go by, and per-track summaries.

    result = analyze_video("clip.mp4", Analyzer(), VideoOptions(every=2, smooth=0.6), annotated="out.mp4")
    result = analyze_video("clip.mp4", Analyzer(), every=2, csv_path="faces.csv")   # the same options as keywords
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ferkit.errors import FerkitError

if TYPE_CHECKING:
    from ferkit.runtime.window import OpenCVWindow, TkWindow
from ferkit.labels import age_range
from ferkit.progress import Progress
from ferkit.runtime.analyzer import Analyzer
from ferkit.runtime.boxes import clip_box, is_empty
from ferkit.runtime.draw import annotate
from ferkit.runtime.options import WEBCAM_SMOOTH, VideoOptions, with_overrides
from ferkit.runtime.results import Face, FaceResult, FrameResult, label_above
from ferkit.runtime.tracking import IouTracker, SceneCuts, Smoother


@dataclass
class TrackSummary:
    track_id: int
    first_seen: float
    last_seen: float
    frames: int
    dominant_emotion: str | None
    shares: dict[str, float]  # share of the track's analysed frames spent in each emotion

    def to_dict(self) -> dict[str, Any]:
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
    labels: Counter[str] = field(default_factory=Counter)


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
            if face.track_id is None:
                continue  # summaries are per track
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

    def to_dict(self) -> dict[str, Any]:
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

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
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


@dataclass
class _TrackAge:
    total: float = 0.0
    estimates: int = 0
    updated: float = float("-inf")  # seconds into the video of the last estimate

    @property
    def mean(self) -> float:
        return self.total / self.estimates


class FrameAnalyzer:
    """One frame at a time: find faces, classify them in one batch, give stable ids, smooth per track.

    Two things are not redone on every frame, since neither changes within a fraction of a second: the detector
    runs on every `detect_every`-th frame and the faces it found are classified again in between (a face moves a
    few pixels in that time), and each track's age is estimated when it appears and every `age_every` seconds
    after, the mean of its estimates so far being what is reported."""

    def __init__(self, analyzer: Analyzer, options: VideoOptions, max_missed: int = 5):
        # The tracker sees detections only: a track ends after `max_missed` analysed frames without one.
        tracker = IouTracker(max_missed=max(1, -(-max_missed // options.detect_every)))
        self.analyzer, self.tracker, self.smoother = analyzer, tracker, Smoother(options.smooth)
        self.detect_every, self.age_every = options.detect_every, options.age_every
        self.calls = 0
        self.detected: list[Face] = []
        self.track_ids: list[int] = []
        self.ages: dict[int, _TrackAge] = {}

    def __call__(self, frame: np.ndarray, index: int, seconds: float, cut: bool = False) -> FrameResult:
        """`cut`: a new shot began since the last analysed frame, so every track ends and the detector runs."""
        if cut:
            self.tracker.end_all()
        since_detection = 0 if cut else self.calls % self.detect_every
        self.calls += 1
        if since_detection == 0:
            self.detected = self.analyzer.detect(frame)
            self.track_ids = self.tracker.update([face.bbox for face in self.detected])
            faces = self.detected
        else:
            steps = since_detection / self.detect_every
            faces = [self._moved(face, t, steps, frame.shape) for face, t in zip(self.detected, self.track_ids)]
        results = self.analyzer.classify(frame, faces, ages=False)
        classes = self.analyzer.classes
        for result, track_id in zip(results, self.track_ids):
            result.track_id = track_id
            smoothed = self.smoother(track_id, np.array([result.probabilities[c] for c in classes]))
            result.probabilities = dict(zip(classes, smoothed.tolist()))
            result.emotion = label_above(result.probabilities, self.analyzer.options.threshold)
        self._add_ages(frame, faces, results, seconds)
        live = [t.track_id for t in self.tracker.tracks]
        self.smoother.forget(live)
        self.ages = {t: self.ages[t] for t in live if t in self.ages}
        return FrameResult(index, seconds, results)

    def _moved(self, face: Face, track_id: int, steps: float, shape: tuple[int, ...]) -> Face:
        """A face found on an earlier frame, moved to where its track is heading."""
        expected = self.tracker.expected_box(track_id, steps)
        if expected is None:
            return face
        height, width = shape[:2]
        box = clip_box(expected, width, height)
        if is_empty(box):
            return face  # heading out of the frame: keep it where it was seen until the detector says
        shift = (np.asarray(box[:2]) + box[2:]) / 2 - (np.asarray(face.bbox[:2]) + face.bbox[2:]) / 2
        landmarks = None if face.landmarks is None else face.landmarks + shift
        return Face(box, face.score, landmarks)

    def _add_ages(self, frame: np.ndarray, faces: list[Face], results: list[FaceResult], seconds: float) -> None:
        estimator = self.analyzer.age_estimator
        if estimator is None:
            return
        due = [
            (face, track_id)
            for face, track_id in zip(faces, self.track_ids)
            if seconds - self.ages.get(track_id, _TrackAge()).updated >= self.age_every
        ]
        estimates = estimator.estimate(self.analyzer.crops(frame, [face for face, _ in due])) if due else []
        for (_, track_id), (years, _) in zip(due, estimates):
            track = self.ages.setdefault(track_id, _TrackAge())
            track.total, track.estimates, track.updated = track.total + years, track.estimates + 1, seconds
        for result, track_id in zip(results, self.track_ids):
            result.age = float(round(self.ages[track_id].mean))  # whole years, as the range reads them
            result.age_range = age_range(result.age)


def analyze_video(
    source: str | int,
    analyzer: Analyzer,
    options: VideoOptions | None = None,
    *,
    annotated: str | None = None,
    csv_path: str | None = None,
    progress: bool = False,
    keep_frames: bool = True,
    on_frame: Callable[[np.ndarray, FrameResult | None, float], bool] | None = None,
    **overrides: Any,
) -> VideoResult:
    """Analyse a video as VideoOptions say (or their fields as keywords: every=2, smooth=0.6). `on_frame(drawn_frame,
    result, fps)` may show the frame and returns False to stop (the webcam's `q`). Outputs written so far are kept
    when the stream breaks. Quiet unless `progress` asks for a bar (the CLI does)."""
    options = with_overrides(options or VideoOptions(), overrides)
    every = options.every
    frames = VideoFrames(source)
    result = VideoResult(frames.source, frames.width, frames.height, frames.fps, analyzer.classes, keep_frames)
    per_frame = FrameAnalyzer(analyzer, options, max_missed=max(2, round(frames.fps / every / 2)))
    writer = _video_writer(annotated, frames.fps, frames.width, frames.height) if annotated else None
    table = _CsvRows(csv_path, analyzer.classes) if csv_path else None
    bar = Progress(frames.expected, f"{frames.source}", "frames") if progress else None
    last_faces: list[FaceResult] = []
    cuts, cut_since_analysed = SceneCuts(), False
    rate, started = 0.0, time.perf_counter()
    try:
        for index, frame in frames:
            frame_result = None
            cut_since_analysed |= cuts(frame)
            if index % every == 0:
                frame_result = per_frame(frame, index, index / frames.fps, cut_since_analysed)
                cut_since_analysed = False
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
    options: VideoOptions | None = None,
    *,
    window: OpenCVWindow | TkWindow | None = None,
    record: str | None = None,
    max_frames: int | None = None,
    **overrides: Any,
) -> VideoResult:
    """The same path as a video file, shown live with an FPS counter; `q` or Escape (or closing) quits. Smoothed
    by WEBCAM_SMOOTH unless the options say otherwise."""
    from ferkit.runtime.window import draw_fps, open_window

    options = with_overrides(options or VideoOptions(smooth=WEBCAM_SMOOTH), overrides)
    window = window or open_window("ferkit webcam (q quits)")
    shown = 0

    def show(frame: np.ndarray, _result: FrameResult | None, fps: float) -> bool:
        nonlocal shown
        shown += 1
        keep_going = window.show(draw_fps(frame, fps))
        return keep_going and (max_frames is None or shown < max_frames)

    try:
        return analyze_video(
            source,
            analyzer,
            options,
            annotated=record,
            progress=False,
            keep_frames=False,
            on_frame=show,
        )
    finally:
        window.close()


def _video_writer(path: str, fps: float, width: int, height: int) -> cv2.VideoWriter:
    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise FerkitError(f"{path}: cannot write a video here (use an .mp4 path in a writable folder)")
    return writer


class _CsvRows:
    """Rows go to disk as each frame is analysed, so a crash or a cut stream loses nothing already seen."""

    def __init__(self, path: str, classes: Sequence[str]):
        self.handle = open(path, "w", newline="")
        columns = FrameResult.csv_columns(classes)
        self.writer = csv.DictWriter(self.handle, fieldnames=columns)
        self.writer.writeheader()
        self.classes = classes

    def write(self, frame: FrameResult) -> None:
        self.writer.writerows(frame.csv_rows(self.classes))
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
