"""The Analyzer: photo in, every face boxed and classified out, as typed results.

analyzer = Analyzer(detector="yunet", threshold=0.4)
result = analyzer.analyze_path("group.jpg")        # ImageResult
for face in result.faces: print(face.emotion, face.bbox)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ferkit.deadline import Deadline
from ferkit.errors import FerkitError
from ferkit.runtime.age import AgeEstimator
from ferkit.runtime.boxes import clip_box
from ferkit.runtime.crop import crop_face
from ferkit.runtime.detectors import DEFAULT_DETECTOR, DETECTORS, WholeImage, checked_detector, create_detector
from ferkit.runtime.images import read_image
from ferkit.runtime.options import OptionSpec, check_ranges, option, specs_of, with_overrides
from ferkit.runtime.results import Face, FaceResult, ImageResult, label_above
from ferkit.runtime.shipped import AGE_MODEL, load_emotion_model
from ferkit.views import VIEW_NAMES, Views

if TYPE_CHECKING:
    from ferkit.runtime.shipped import EmotionModel

DEFAULT_AGE_MODEL = AGE_MODEL


@dataclass(frozen=True)
class AnalyzerOptions:
    """How photos are analysed, checked once on construction (a bad value is a FerkitError naming it): the same
    object comes from the CLI flags, a batch job, the service and Python. Each field's OptionSpec is the one
    definition its CLI flag and form field are made from."""

    detector: str = option(
        DEFAULT_DETECTOR,
        f"face detector: {', '.join(DETECTORS)}, or {WholeImage.name} (each image or frame is one face crop, "
        "classified whole)",
    )
    confidence: float | None = option(
        None, "detector confidence (the detector's own default if unset)", low=0, high=1, parse=float
    )
    min_face: int = option(0, "ignore faces smaller than this many pixels", low=0)
    # Both measured by bench/bench_alignment.py on validation faces: FER2013's and UTKFace's training crops
    # frame the face as YuNet's box does (margin ~0), wider crops lost accuracy, and levelling the eyes
    # recovered most of what a 20-degree roll costs.
    margin: float = option(0.0, "crop margin on each side, as a share of the box", low=0, high=1)
    align: bool = option(True, "level the eyes before classifying (where the detector gives landmarks)")
    threshold: float = option(0.0, "no emotion label below this top probability", low=0, high=1)
    views: Views | None = option(
        None,
        "views of each face the classifier answers on, averaged: centre (the crop alone), mirror (and its mirror "
        "image: 2x the work), ten (ten crops: 10x) (default: the model's own, from its card)",
        parse=str,
        choices=VIEW_NAMES,
    )
    detect_size: int = option(
        1024, "images or frames larger than this (longest side) are searched on a downscaled copy", low=32
    )
    # Each face costs a classifier and an age run: a photo tiled with 1,764 faces held a service worker 125 s.
    max_faces: int = option(
        100, "classify at most this many faces per image or frame, the largest (the rest are counted)", low=1
    )
    threads: int = option(0, "threads per model (0: onnxruntime's choice)", low=0)
    age: bool = option(True, "estimate an age range for every face (with the shipped age model, where present)")

    def __post_init__(self) -> None:
        """Checked once, here, whichever door the options came through (CLI, batch, service, Python)."""
        if self.views is not None:
            object.__setattr__(self, "views", Views.parse(self.views))  # "mirror" from a flag or a form is Views
        checked_detector(self.detector)
        check_ranges(self)


SMALL_IMAGE = 256  # pixels on the longest side: images under it are searched for faces at twice their size


def option_specs() -> dict[str, OptionSpec]:
    """Every AnalyzerOptions field's OptionSpec, in field order: what the CLI and the service build on."""
    return specs_of(AnalyzerOptions)


class Analyzer:
    """Photos in, typed results out: `analyze(image)` / `analyze_path(path)` -> ImageResult with one FaceResult per
    face (box, score, probabilities, emotion or None under the threshold, age range). Takes AnalyzerOptions (or
    their fields as keywords), a shipped model name or ONNX/ensemble path as `model`, and an age model path."""

    def __init__(
        self,
        options: AnalyzerOptions | None = None,
        model: str | Path | None = None,
        age_model: str | Path | None = None,
        *,
        recognizer: EmotionModel | None = None,
        age_estimator: AgeEstimator | None = None,
        **overrides: Any,
    ):
        """`recognizer` and `age_estimator`, when given, are used instead of loading the models: analyzers that
        run side by side share them (an ONNX session runs concurrent calls safely), so a pool holds each model once."""
        self.options = with_overrides(options or AnalyzerOptions(), overrides)
        self.detector = create_detector(self.options.detector, self.options.confidence, self.options.threads)
        self.recognizer = recognizer or load_emotion_model(model, threads=self.options.threads)
        self.views = self.options.views or self.recognizer.card.views
        self.age_estimator = None
        if self.options.age:
            self.age_estimator = age_estimator or _default_age(age_model, self.options.threads)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.recognizer.classes

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in original coordinates, left to right, at most `max_faces` of them (the largest)."""
        return self.detect_counted(image)[0]

    def detect_counted(self, image: np.ndarray) -> tuple[list[Face], int]:
        """`detect`'s faces and how many more were found and left out by `max_faces`. Very large photos are
        searched on a downscaled copy (never below one pixel a side, so a 1x3000 strip is searched too), small
        ones (a web thumbnail, a face crop) on a copy twice their size."""
        height, width = image.shape[:2]
        scale = self._detection_scale(max(height, width))
        resized = (
            cv2.resize(
                image,
                (max(round(width * scale), 1), max(round(height * scale), 1)),
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            )
            if scale != 1
            else image
        )
        faces = self.detector.detect(resized)
        if scale != 1:
            faces = [_rescale(face, 1 / scale, width, height) for face in faces]
        found = [f for f in faces if min(f.width, f.height) >= max(self.options.min_face, 1)]
        kept = sorted(found, key=lambda f: -f.width * f.height)[: self.options.max_faces]
        # Left to right: face ids read like the photo.
        return sorted(kept, key=lambda f: (f.bbox[0], f.bbox[1])), len(found) - len(kept)

    def _detection_scale(self, longest: int) -> float:
        if longest > self.options.detect_size:
            return float(self.options.detect_size / longest)
        # YuNet's finest anchors (stride 8) miss faces of 12-32 pixels that it finds at twice the size: over the
        # 25 faces of the sample photos cut out and shrunk, those scoring 0.7 went 0 -> 12 at 12 pixels and
        # 10 -> 13 at 16, and none changed at 48. Only small images are enlarged, so the cost stays small.
        return 2.0 if longest < SMALL_IMAGE else 1.0

    def analyze(self, image: np.ndarray, file_name: str = "", deadline: Deadline | None = None) -> ImageResult:
        """A BGR (or gray) image -> every face found (up to `max_faces`), left to right, classified. With a
        `deadline`, the work stops (Stopped) between stages once it has passed or its requester is gone."""
        faces, dropped = self.detect_counted(image)
        results = self.classify(image, faces, ages=True, deadline=deadline)
        return ImageResult(file_name, image.shape[1], image.shape[0], self.options.threshold, results, dropped)

    def crops(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        """The face crops the models see: each box cut out with the options' margin, eyes levelled if `align`."""
        return [crop_face(image, face, self.options.margin, self.options.align) for face in faces]

    def classify(
        self, image: np.ndarray, faces: list[Face], ages: bool = True, deadline: Deadline | None = None
    ) -> list[FaceResult]:
        """Emotion (and, with `ages`, age) of faces already found; all faces of the image in one batch per model."""
        if deadline and faces:
            deadline.check("reading emotions")
        crops = self.crops(image, faces)
        probabilities = self.emotions(crops) if crops else np.zeros((0, 0))
        results = [self._face_result(index, face, row) for index, (face, row) in enumerate(zip(faces, probabilities))]
        if deadline and faces and ages and self.age_estimator:
            deadline.check("estimating ages")
        if ages and self.age_estimator and crops:
            for result, (age, span) in zip(results, self.age_estimator.estimate(crops)):
                result.age, result.age_range = age, span
        return results

    def emotions(self, crops: list[np.ndarray]) -> np.ndarray:
        """Face crops -> (N, classes) probabilities on the views asked for (or the model's own)."""
        return self.recognizer.predict_faces(crops, self.views)

    def analyze_path(self, path: str | Path) -> ImageResult:
        """An image file -> its ImageResult; an unreadable file raises FerkitError (analyze_paths goes on instead)."""
        return self.analyze(read_image(path), Path(path).name)

    def analyze_paths(self, paths: Iterable[str | Path]) -> Iterator[tuple[Path, ImageResult, np.ndarray | None]]:
        """Each path with its result and image; a file that fails gets a result with `error`, and the rest go on."""
        for path in paths:
            try:
                image = read_image(path)
            except FerkitError as error:
                yield Path(path), ImageResult(Path(path).name, 0, 0, self.options.threshold, [], error=str(error)), None
                continue
            yield Path(path), self.analyze(image, Path(path).name), image

    def _face_result(self, index: int, face: Face, row: np.ndarray) -> FaceResult:
        probabilities = dict(zip(self.classes, row.tolist()))
        return FaceResult(
            index, face.bbox, face.score, probabilities, label_above(probabilities, self.options.threshold)
        )


def _default_age(age_model: str | Path | None, threads: int) -> AgeEstimator | None:
    if age_model or DEFAULT_AGE_MODEL.is_file():
        return AgeEstimator(age_model or DEFAULT_AGE_MODEL, threads=threads)
    return None


def _rescale(face: Face, factor: float, width: int, height: int) -> Face:
    x1, y1, x2, y2 = (v * factor for v in face.bbox)
    box = clip_box((x1, y1, x2, y2), width, height)
    landmarks = None if face.landmarks is None else face.landmarks * factor
    return Face(box, face.score, landmarks)
