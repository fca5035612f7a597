"""`ferkit evaluate-detector`: recall, precision and false positives at IoU 0.5, and speed, per detector."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferkit.errors import FerkitError
from ferkit.runtime.boxes import pairwise_iou
from ferkit.runtime.detectors import create_detector
from ferkit.runtime.images import read_image
from ferkit.runtime.results import Face


@dataclass
class DetectorScore:
    detector: str
    faces: int
    found: int
    detections: int
    false_positives: int
    ms_per_image: float

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else 0.0

    @property
    def precision(self) -> float:
        counted = self.found + self.false_positives
        return self.found / counted if counted else 0.0


def read_boxes(csv_path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """faces.csv (image,split,x1,y1,x2,y2,ignore) -> {image: {"faces": (N,4), "ignore": (M,4)}}."""
    boxes: dict[str, dict[str, list[list[float]]]] = defaultdict(lambda: {"faces": [], "ignore": []})
    try:
        with open(csv_path, newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    box = [float(row[k]) for k in ("x1", "y1", "x2", "y2")]
                    kind = "ignore" if row.get("ignore", "0").strip() == "1" else "faces"
                except (KeyError, ValueError, TypeError):
                    raise FerkitError(f"{csv_path}: line {number}: expected image,x1,y1,x2,y2[,ignore]") from None
                boxes[row["image"]][kind].append(box)
    except OSError as error:
        raise FerkitError(f"{csv_path}: cannot read ({error.strerror})") from None
    return {name: {k: np.array(v, float).reshape(-1, 4) for k, v in entry.items()} for name, entry in boxes.items()}


def match(detections: np.ndarray, faces: np.ndarray, ignore: np.ndarray, threshold: float) -> tuple[int, int]:
    """Greedy matching, best score first: (faces found, false positives). Hits on `ignore` boxes are neither."""
    found, false_positives = 0, 0
    taken = np.zeros(len(faces), bool)
    overlaps = pairwise_iou(detections, faces) if len(faces) else np.zeros((len(detections), 0))
    ignored = (
        (pairwise_iou(detections, ignore).max(axis=1) >= threshold) if len(ignore) else np.zeros(len(detections), bool)
    )
    for index in range(len(detections)):
        candidates = np.where(~taken, overlaps[index], -1) if len(faces) else np.array([])
        if len(candidates) and candidates.max() >= threshold:
            taken[candidates.argmax()] = True
            found += 1
        elif not ignored[index]:
            false_positives += 1
    return found, false_positives


def score_faces(faces: list[Face], truth: dict[str, np.ndarray], threshold: float) -> tuple[int, int]:
    """(faces found, false positives) of one image's detections against its boxes (`read_boxes`), best score first."""
    ordered = sorted(faces, key=lambda f: -f.score)
    detections = np.array([f.bbox for f in ordered], float).reshape(-1, 4)
    return match(detections, truth["faces"], truth["ignore"], threshold)


def evaluate_detector(
    name: str,
    images_dir: str | Path,
    boxes: dict[str, dict[str, np.ndarray]],
    threshold: float = 0.5,
    confidence: float | None = None,
) -> DetectorScore:
    detector = create_detector(name, confidence)
    totals = {"faces": 0, "found": 0, "detections": 0, "fp": 0}
    seconds = 0.0
    for image_name, truth in boxes.items():
        image = read_image(Path(images_dir) / image_name)
        started = time.perf_counter()
        faces = detector.detect(image)
        seconds += time.perf_counter() - started
        found, false_positives = score_faces(faces, truth, threshold)
        totals["faces"] += len(truth["faces"])
        totals["found"] += found
        totals["detections"] += len(faces)
        totals["fp"] += false_positives
    return DetectorScore(
        name, totals["faces"], totals["found"], totals["detections"], totals["fp"], 1000 * seconds / max(len(boxes), 1)
    )


def format_scores(scores: list[DetectorScore], threshold: float) -> str:
    lines = [
        f"{'detector':<10}{'faces':>7}{'found':>7}{'recall':>8}{'precision':>11}{'false pos':>11}{'ms/image':>10}"
        f"   (IoU >= {threshold})"
    ]
    for s in scores:
        lines.append(
            f"{s.detector:<10}{s.faces:>7}{s.found:>7}{s.recall:>8.3f}{s.precision:>11.3f}{s.false_positives:>11}{s.ms_per_image:>10.1f}"
        )
    return "\n".join(lines)
