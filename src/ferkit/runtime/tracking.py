"""Stable face ids across video frames (greedy IoU matching, ended at scene cuts) and temporal smoothing of
probabilities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ferkit.errors import FerkitError
from ferkit.runtime.boxes import BoxLike, iou


@dataclass
class _Track:
    track_id: int
    box: np.ndarray  # x1, y1, x2, y2 where last seen
    last_seen: int
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # box change per analysed frame

    def expected(self, step: float) -> np.ndarray:
        return self.box + self.velocity * (step - self.last_seen)


class IouTracker:
    """A face keeps its id while its box overlaps its track's last box or where the track was heading (the
    last box moved at its last measured speed: a face crossing the frame keeps its id between detections a few
    frames apart);
    a track unseen for `max_missed` analysed frames ends, so a face that leaves and comes back gets a new id."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5):
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self.tracks: list[_Track] = []
        self.next_id = 0
        self.step = 0

    def update(self, boxes: Sequence[BoxLike]) -> list[int]:
        self.step += 1
        self.tracks = [t for t in self.tracks if self.step - t.last_seen <= self.max_missed]
        pairs = sorted(
            ((self._overlap(box, track), b, t) for b, box in enumerate(boxes) for t, track in enumerate(self.tracks)),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < self.iou_threshold:
                break
            if ids[b] is None and t not in used:
                self._follow(self.tracks[t], boxes[b], ids, b, used, t)
        # Detections far apart in time (every 5th frame, the detector on every 3rd of those) let a moving face
        # leave its box: a face of about the same size whose centre is within one face width of where its track
        # was keeps the id. Scene cuts end tracks first, so this never joins two shots.
        near = sorted(
            (self._distance(box, track), b, t)
            for b, box in enumerate(boxes)
            for t, track in enumerate(self.tracks)
            if ids[b] is None and t not in used
        )
        for distance, b, t in near:
            if distance > 1.0:
                break
            if ids[b] is None and t not in used:
                self._follow(self.tracks[t], boxes[b], ids, b, used, t)
        for b, unmatched in enumerate(boxes):
            if ids[b] is None:
                ids[b] = self.next_id
                self.tracks.append(_Track(self.next_id, np.asarray(unmatched, float), self.step))
                self.next_id += 1
        return [int(i) for i in ids if i is not None]

    def _follow(self, track: _Track, box_like: BoxLike, ids: list[int | None], b: int, used: set[int], t: int) -> None:
        ids[b] = track.track_id
        used.add(t)
        box = np.asarray(box_like, float)
        track.velocity = (box - track.box) / (self.step - track.last_seen)
        track.box, track.last_seen = box, self.step

    @staticmethod
    def _distance(box_like: BoxLike, track: _Track) -> float:
        """Centre distance in face widths, or infinity for faces whose sizes differ by more than 1.5x."""
        box = np.asarray(box_like, float)
        size, track_size = box[2] - box[0], track.box[2] - track.box[0]
        if min(size, track_size) <= 0 or max(size, track_size) > 1.5 * min(size, track_size):
            return float("inf")
        shift = (box[:2] + box[2:]) / 2 - (track.box[:2] + track.box[2:]) / 2
        return float(np.hypot(*shift) / track_size)

    def end_all(self) -> None:
        """End every track (a scene cut): faces after it get new ids even where their boxes overlap old ones."""
        self.tracks = []

    def _overlap(self, box: BoxLike, track: _Track) -> float:
        # Where it was and where it was heading, whichever overlaps more: a detector's jitter in one frame
        # must not throw a still face's track off.
        return max(iou(box, track.box), iou(box, track.expected(self.step)))

    def expected_box(self, track_id: int, steps: float) -> np.ndarray | None:
        """Where a live track's box should be `steps` updates (a fraction between two) after the last one."""
        track = next((t for t in self.tracks if t.track_id == track_id), None)
        return None if track is None else track.expected(self.step + steps)


class Smoother:
    """Exponential moving average of each track's probabilities: less flicker, a short lag.
    `strength` 0 leaves frames alone; 0.7 keeps 70% of the running value each analysed frame."""

    def __init__(self, strength: float = 0.0):
        if not 0 <= strength < 1:
            raise FerkitError(
                f"--smooth must be at least 0 and below 1 (the share of the running value kept), not {strength:g}"
            )
        self.strength = strength
        self.state: dict[int, np.ndarray] = {}

    def __call__(self, track_id: int, probabilities: np.ndarray) -> np.ndarray:
        previous = self.state.get(track_id)
        smoothed = probabilities if previous is None else self.strength * previous + (1 - self.strength) * probabilities
        self.state[track_id] = smoothed
        return smoothed

    def forget(self, live_ids: Iterable[int]) -> None:
        """Drop state of ended tracks, so a long video does not accumulate it."""
        live = set(live_ids)
        self.state = {k: v for k, v in self.state.items() if k in live}


class SceneCuts:
    """Says whether a frame starts a new shot: its gray-level histogram (32 bins of a 64x36 thumbnail) differs
    from the previous frame's by more than `threshold` in total variation. Fed every decoded frame, so frames
    skipped by `--every` still count. On the shared Hamilton clip the three cuts score 0.19-0.40 and the largest
    change within a shot (a fast pan) 0.07."""

    def __init__(self, threshold: float = 0.13):
        self.threshold = threshold
        self.previous: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> bool:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        thumbnail = cv2.resize(gray, (64, 36), interpolation=cv2.INTER_AREA)
        histogram = np.bincount(thumbnail.ravel() // 8, minlength=32) / thumbnail.size
        previous, self.previous = self.previous, histogram
        return previous is not None and float(np.abs(histogram - previous).sum()) / 2 > self.threshold
