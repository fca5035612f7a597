"""Evaluate a model on a store split: accuracy, per-class recall, macro-F1, confusion matrix, speed.

A model is anything with `classes`, `preprocessing` and `predict_prepared(faces, views)`: a torch checkpoint
(training.predict.CheckpointPredictor) or the runtime's ONNX EmotionRecognizer, so both are measured the same
way. Nothing here needs torch.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from ferkit.calibration import reliability
from ferkit.card import Predictor, SplitMetrics, metric_key
from ferkit.data import FerStore, load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.age import AgeReport, age_report, expected_age
from ferkit.evaluation.metrics import ClassificationReport, classification_report
from ferkit.faces import prepare_faces
from ferkit.labels import canonical, in_classes
from ferkit.views import Views


class Labelled(NamedTuple):
    store: FerStore
    part: FerStore  # the split's labelled faces the model can answer, labels indexing `classes`
    classes: tuple[str, ...]  # the store's classes the model has: all of them, or all but those it lacks


def labelled_part(
    predictor: Predictor, store_path: str | Path, split: str, leave_out: tuple[str, ...] = ()
) -> Labelled:
    """A split's labelled faces in the store's classes. A model without one of them (a FER2013 model has no
    contempt), or told to `leave_out` some, is measured on the faces of the other classes, in those classes."""
    store = load_store(store_path)
    part = store.split(split)
    part = part.subset(part.labels >= 0)
    classes = tuple(store.classes)
    if store.label_set != "age":
        answers = {canonical(name) for name in predictor.classes}
        left_out = {canonical(name) for name in leave_out}
        classes = tuple(name for name in store.classes if canonical(name) in answers - left_out)
        if len(classes) < 2:
            raise FerkitError(
                f"{store_path}: classes {list(store.classes)} are not the model's {list(predictor.classes)}"
            )
        if classes != tuple(store.classes):
            kept = [store.classes.index(name) for name in classes]
            part = part.subset(np.isin(part.labels, kept))
            part = dataclasses.replace(part, labels=np.searchsorted(kept, part.labels).astype(part.labels.dtype))
    if len(part) == 0:
        raise FerkitError(f"{store_path}: split {split} has no labelled images")
    return Labelled(store, part, classes)


def predict_on_store(
    predictor: Predictor, store_path: str | Path, split: str, views: Views = Views.CENTRE
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, labels) of a split's labelled faces."""
    _, part, _ = labelled_part(predictor, store_path, split)
    return predictor.predict_prepared(images_as_the_model_expects(part, predictor, store_path), views), part.labels


def evaluate_on_store(
    predictor: Predictor,
    store_path: str | Path,
    split: str = "PrivateTest",
    views: Views = Views.CENTRE,
    runtime_path: bool = False,
    leave_out: tuple[str, ...] = (),
) -> tuple[ClassificationReport | AgeReport, dict[str, float]]:
    """Emotion stores give a ClassificationReport; age stores an AgeReport (MAE, ranges, per group).

    `runtime_path` feeds each face as `ferkit analyze` feeds a detector's crop (gray, resized, equalised again
    where the model equalises); otherwise the store's pixels go in as the model was trained on them. The two
    differ on the Kaggle JPEG release, whose faces come equalised already. `views` are those the model answers
    on (`ferkit analyze` uses the model's own, `card.views`); `leave_out` classes' faces are not counted and the
    model is read in the others (models of two label sets compared on the classes both have)."""
    store, part, classes = labelled_part(predictor, store_path, split, leave_out)
    if runtime_path:
        images = runtime_faces(part, predictor)
    else:
        images = images_as_the_model_expects(part, predictor, store_path)
    started = time.perf_counter()

    probabilities = predictor.predict_prepared(images, views)
    seconds = time.perf_counter() - started
    report: ClassificationReport | AgeReport
    if store.label_set == "age":
        attributes = part.attributes
        report = age_report(
            expected_age(probabilities),
            attributes.get("age", part.labels).astype(float),
            attributes.get("gender"),
            attributes.get("race"),
        )
    else:
        probabilities = in_classes(probabilities, tuple(predictor.classes), classes)
        report = classification_report(part.labels, probabilities.argmax(1), classes)
        report.ece = reliability(probabilities, part.labels).ece
    timing = {"seconds": seconds, "images_per_second": len(part) / seconds, "ms_per_image": 1000 * seconds / len(part)}
    return report, timing


def analyzer_views(
    predictor: Any, store_path: str | Path, split: str, views: Views = Views.MIRROR
) -> tuple[np.ndarray, np.ndarray]:
    """(views, labels): a split's faces fed as `ferkit analyze` feeds a detector's crop (the runtime path), a
    runtime model's (ONNX file or ensemble) own probabilities for each view apart, (views, N, classes), so that a
    temperature can be fitted on what the analyzer answers: the mean of the scaled views."""
    _, part, _ = labelled_part(predictor, store_path, split)
    return predictor.view_probabilities(runtime_faces(part, predictor), views), part.labels


def runtime_faces(part: FerStore, predictor: Predictor) -> np.ndarray:
    """A store part's faces as the runtime prepares a crop: gray, resized, equalised again where the model
    equalises."""
    return prepare_faces(list(part.images), predictor.image_size, predictor.preprocessing.equalize)


def images_as_the_model_expects(part: FerStore, predictor: Predictor, store_path: str | Path) -> np.ndarray:
    """Raw-pixel stores (FER+ PNGs) are equalised for a model trained on equalised faces, as the runtime
    does with every crop; the reverse cannot be undone."""
    wants_equalized = predictor.preprocessing.equalize
    if wants_equalized == part.equalized:
        return part.images
    if part.equalized:
        raise FerkitError(f"{store_path}: equalised images, but the model was trained on raw pixels")
    return np.stack([cv2.equalizeHist(image) for image in part.images])


def recorded_metrics(
    predictor: Predictor, store: str | Path, log: Callable[[str], None] = print
) -> dict[str, SplitMetrics]:
    """Both test splits on the centre crop, ten crops and the model's own views: what a shipped file records
    about itself, with the hash of the store measured on (a model can be measured on another store)."""
    store_hash = load_store(store).data_hash()
    metrics = {}
    for split in ("PublicTest", "PrivateTest"):
        for views in dict.fromkeys((Views.CENTRE, Views.TEN, predictor.card.views)):
            report, _ = evaluate_on_store(predictor, store, split, views)
            tag = metric_key(split, views)
            recorded = {k: v for k, v in report.to_dict().items() if k != "confusion"} | {"store_hash": store_hash}
            metrics[tag] = SplitMetrics.from_dict(recorded)
            log(f"{tag:<22} {report.summary()}")
    return metrics
