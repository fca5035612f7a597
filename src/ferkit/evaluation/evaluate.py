"""Evaluate a model on a store split: accuracy, per-class recall, macro-F1, confusion matrix, speed.

A model is anything with `classes`, `preprocessing` and `predict_prepared(faces, views)`: a torch checkpoint
(training.predict.CheckpointPredictor) or the runtime's ONNX EmotionRecognizer, so both are measured the same
way. Nothing here needs torch.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from ferkit.calibration import reliability
from ferkit.data import load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.age import AgeReport, age_report, expected_age
from ferkit.evaluation.metrics import ClassificationReport, classification_report
from ferkit.faces import prepare_faces
from ferkit.labels import in_classes, restrict_probabilities
from ferkit.views import Views


def labelled_part(predictor, store_path: str | Path, split: str):
    """A split's labelled faces, refused unless the model has a class for each of the store's emotions."""
    store = load_store(store_path)
    try:
        restrict_probabilities(np.zeros((0, len(predictor.classes))), predictor.classes, tuple(store.classes))
    except ValueError as error:
        raise FerkitError(
            f"{store_path}: classes {list(store.classes)} differ from the model's {list(predictor.classes)} ({error})"
        ) from None
    part = store.split(split)
    part = part.subset(part.labels >= 0)
    if len(part) == 0:
        raise FerkitError(f"{store_path}: split {split} has no labelled images")
    return store, part


def predict_on_store(predictor, store_path: str | Path, split: str, views: Views = Views.CENTRE):
    """(probabilities, labels) of a split's labelled faces."""
    _, part = labelled_part(predictor, store_path, split)
    return predictor.predict_prepared(images_as_the_model_expects(part, predictor, store_path), views), part.labels


def evaluate_on_store(
    predictor,
    store_path: str | Path,
    split: str = "PrivateTest",
    views: Views = Views.CENTRE,
    runtime_path: bool = False,
) -> tuple[ClassificationReport | AgeReport, dict]:
    """Emotion stores give a ClassificationReport; age stores an AgeReport (MAE, ranges, per group).

    `runtime_path` feeds each face as `ferkit analyze` feeds a detector's crop (gray, resized, equalised again
    where the model equalises); otherwise the store's pixels go in as the model was trained on them. The two
    differ on the Kaggle JPEG release, whose faces come equalised already. `views` are those the model answers
    on (`ferkit analyze` uses the model's own, `card.views`)."""
    store, part = labelled_part(predictor, store_path, split)
    if runtime_path:
        images = runtime_faces(part, predictor)
    else:
        images = images_as_the_model_expects(part, predictor, store_path)
    started = time.perf_counter()

    probabilities = predictor.predict_prepared(images, views)
    seconds = time.perf_counter() - started
    if store.label_set != "age":
        probabilities = in_classes(probabilities, tuple(predictor.classes), tuple(store.classes))
    if store.label_set == "age":
        attributes = part.attributes
        report = age_report(
            expected_age(probabilities),
            attributes.get("age", part.labels).astype(float),
            attributes.get("gender"),
            attributes.get("race"),
        )
    else:
        report = classification_report(part.labels, probabilities.argmax(1), tuple(store.classes))
        report.ece = reliability(probabilities, part.labels).ece
    timing = {"seconds": seconds, "images_per_second": len(part) / seconds, "ms_per_image": 1000 * seconds / len(part)}
    return report, timing


def analyzer_views(predictor, store_path: str | Path, split: str, views: Views = Views.MIRROR):
    """(views, labels): a split's faces fed as `ferkit analyze` feeds a detector's crop (the runtime path), the
    model's own probabilities for each view apart, (views, N, classes), so that a temperature can be fitted on
    what the analyzer answers: the mean of the scaled views."""
    _, part = labelled_part(predictor, store_path, split)
    return predictor.view_probabilities(runtime_faces(part, predictor), views), part.labels


def runtime_faces(part, predictor) -> np.ndarray:
    """A store part's faces as the runtime prepares a crop: gray, resized, equalised again where the model
    equalises."""
    return prepare_faces(list(part.images), predictor.image_size, predictor.preprocessing.equalize)


def images_as_the_model_expects(part, predictor, store_path) -> np.ndarray:
    """Raw-pixel stores (FER+ PNGs) are equalised for a model trained on equalised faces, as the runtime
    does with every crop; the reverse cannot be undone."""
    wants_equalized = predictor.preprocessing.equalize
    if wants_equalized == part.equalized:
        return part.images
    if part.equalized:
        raise FerkitError(f"{store_path}: equalised images, but the model was trained on raw pixels")
    return np.stack([cv2.equalizeHist(image) for image in part.images])
