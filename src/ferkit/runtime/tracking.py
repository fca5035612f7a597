"""Stable face ids across video frames (greedy IoU matching) and temporal smoothing of probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.errors import FerkitError


def box_iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    track_id: int
    box: tuple
    last_seen: int


class IouTracker:
    """A face keeps its id while its box overlaps its last box; a track unseen for `max_missed` analysed
    frames ends, so a face that leaves and comes back gets a new id."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5):
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self.tracks: list[_Track] = []
        self.next_id = 0
        self.step = 0

    def update(self, boxes: list[tuple]) -> list[int]:
        self.step += 1
        self.tracks = [t for t in self.tracks if self.step - t.last_seen <= self.max_missed]
        pairs = sorted(
            ((box_iou(box, track.box), b, t) for b, box in enumerate(boxes) for t, track in enumerate(self.tracks)),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        used = set()
        for overlap, b, t in pairs:
            if overlap < self.iou_threshold:
                break
            if ids[b] is None and t not in used:
                ids[b] = self.tracks[t].track_id
                used.add(t)
                self.tracks[t].box, self.tracks[t].last_seen = boxes[b], self.step
        for b, box in enumerate(boxes):
            if ids[b] is None:
                ids[b] = self.next_id
                self.tracks.append(_Track(self.next_id, box, self.step))
                self.next_id += 1
        return ids


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

    def forget(self, live_ids) -> None:
        """Drop state of ended tracks, so a long video does not accumulate it."""
        live = set(live_ids)
        self.state = {k: v for k, v in self.state.items() if k in live}
