"""How small a copy of a photo the detector can search and still find its faces: recall, precision and time per
photo at each `--detect-size` (AnalyzerOptions.detect_size: photos whose longest side is larger are searched on a
downscaled copy), on the hand-boxed group photos of `samples/faces-with-boxes`, as they are (332-500 pixels, faces
of 26-58) and enlarged 2x and 4x (the same faces in photos of 1,000 and 2,000 pixels, as phones and web pages
give them). The baseline is the default size, measured in the same run.

    python bench/bench_detect_size.py [--samples ../shared/data/samples] [--sizes 160,256,320,...] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ferkit.cpu import cpu_line
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.detector_eval import read_boxes, score_faces
from ferkit.runtime.images import read_image

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"
DEFAULT_SIZE = AnalyzerOptions().detect_size
SIZES = (160, 256, 320, 416, 512, 640, DEFAULT_SIZE)
ENLARGEMENTS = (1, 2, 4)
IOU = 0.5


@dataclass(frozen=True)
class Photo:
    image: np.ndarray
    faces: np.ndarray  # (N, 4) boxes to find
    ignore: np.ndarray  # (M, 4) boxes neither found nor false


@dataclass(frozen=True)
class SizeScore:
    faces: int
    found: int
    false_positives: int
    ms_per_photo: float

    @property
    def recall(self) -> float:
        return self.found / self.faces

    @property
    def precision(self) -> float:
        return self.found / max(self.found + self.false_positives, 1)


def boxed_photos(samples: Path, enlargement: int) -> list[Photo]:
    folder = samples / "faces-with-boxes"
    photos = []
    for name, truth in read_boxes(folder / "faces.csv").items():
        image = read_image(folder / "images" / name)
        if enlargement != 1:
            image = cv2.resize(image, None, fx=enlargement, fy=enlargement, interpolation=cv2.INTER_CUBIC)
        photos.append(Photo(image, truth["faces"] * enlargement, truth["ignore"] * enlargement))
    return photos


def score(analyzer: Analyzer, photos: list[Photo], repeat: int) -> SizeScore:
    found = false_positives = 0
    times = []
    for photo in photos:
        truth = {"faces": photo.faces, "ignore": photo.ignore}
        hits, misses = score_faces(analyzer.detect(photo.image), truth, IOU)
        found, false_positives = found + hits, false_positives + misses
        for _ in range(repeat):
            started = time.perf_counter()
            analyzer.detect(photo.image)
            times.append(time.perf_counter() - started)
    faces = sum(len(photo.faces) for photo in photos)
    return SizeScore(faces, found, false_positives, 1000 * statistics.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="detect sizes to try, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed detections per photo (median taken)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")} | {DEFAULT_SIZE})
    print(cpu_line())
    print(f"yunet on samples/faces-with-boxes, IoU >= {IOU}; ms: median time per photo, {args.threads} threads")
    analyzers = {size: Analyzer(AnalyzerOptions(detect_size=size, threads=args.threads, age=False)) for size in sizes}
    for enlargement in ENLARGEMENTS:
        photos = boxed_photos(args.samples, enlargement)
        longest = max(max(photo.image.shape[:2]) for photo in photos)
        faces = sum(len(photo.faces) for photo in photos)
        print(f"\nphotos enlarged {enlargement}x (longest side up to {longest} px), {faces} faces")
        print(f"{'detect size':>12}{'recall':>8}{'precision':>11}{'false pos':>11}{'ms/photo':>10}{'x default':>11}")
        scores = {size: score(analyzers[size], photos, args.repeat) for size in sizes}
        baseline = scores[DEFAULT_SIZE].ms_per_photo
        for size, result in scores.items():
            print(
                f"{size:>12}{result.recall:>8.3f}{result.precision:>11.3f}{result.false_positives:>11}"
                f"{result.ms_per_photo:>10.1f}{result.ms_per_photo / baseline:>11.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
