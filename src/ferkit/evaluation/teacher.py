"""A teacher's probabilities for every face of a store: the soft targets a student is distilled on.

Computed once by `ferkit teacher` (any predictor: an ONNX model or an ensemble) and read by training
(`data.teacher`), so the student's epochs pay nothing for the teacher. The file names the store it was made
on by content hash, so it cannot be paired with another store's faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.atomic import atomic_savez
from ferkit.card import Predictor
from ferkit.data import FerStore, load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import images_as_the_model_expects
from ferkit.labels import class_map, remap_probabilities
from ferkit.progress import Progress
from ferkit.views import Views

CHUNK = 2048


def write_teacher_targets(
    predictor: Predictor,
    store_path: str | Path,
    out: str | Path,
    *,
    views: Views = Views.CENTRE,
    name: str = "",
    progress: bool = True,
) -> Path:
    """The teacher's probabilities for every face of the store, in the store's classes. A teacher of the other
    label set teaches too (a FER2013 model on FER+'s faces): each emotion goes to its column, and a class the
    teacher lacks (contempt) gets 0. On `Views.MIRROR` each face's target is the mean over the face and its
    mirror image, so a student trained with flips learns one answer for both and needs no mirror at run time."""
    store = load_store(store_path)
    check_teaches(predictor.classes, store, store_path)
    images = images_as_the_model_expects(store, predictor, store_path)
    rows = []
    bar = Progress(len(images), "teacher", "faces") if progress else None
    for start in range(0, len(images), CHUNK):
        chunk = predictor.predict_prepared(images[start : start + CHUNK], views)
        rows.append(remap_probabilities(chunk.astype(np.float32), tuple(predictor.classes), tuple(store.classes)))
        if bar:
            bar.update(len(rows[-1]))
    if bar:
        bar.close()
    return save_teacher_targets(out, np.concatenate(rows), store, name, views)


def check_teaches(classes: tuple[str, ...], store: FerStore, store_path: str | Path) -> None:
    """Refuse a teacher whose classes cannot be put in the store's (class_map)."""
    try:
        class_map(tuple(classes), tuple(store.classes))
    except ValueError as error:
        raise FerkitError(f"{store_path}: the teacher cannot teach this store's classes: {error}") from None


def save_teacher_targets(out: str | Path, probabilities: np.ndarray, store: FerStore, name: str, views: Views) -> Path:
    """Write a teacher file for `store`'s faces, row by row in its order: what `read_teacher_targets` accepts."""
    arrays: dict[str, np.ndarray] = {
        "probabilities": probabilities.astype(np.float32),
        "classes": np.array(store.classes),
        "store_hash": np.array(store.data_hash()),
        "teacher": np.array(name),
        "views": np.array(views.value),
    }
    return atomic_savez(out, arrays)


def read_teacher_targets(path: str | Path, store: FerStore) -> np.ndarray:
    """(N, classes) probabilities in the store's order, refused unless made on this very store."""
    try:
        with np.load(path) as arrays:
            probabilities, classes, store_hash = arrays["probabilities"], arrays["classes"], str(arrays["store_hash"])
    except (OSError, KeyError, ValueError) as error:
        raise FerkitError(f"{path}: not a teacher file made by `ferkit teacher` ({error})") from None
    if store_hash != store.data_hash() or len(probabilities) != len(store.labels):
        raise FerkitError(f"{path}: made on another store (hash {store_hash}, this store's is {store.data_hash()})")
    if tuple(classes.tolist()) != tuple(store.classes):
        raise FerkitError(f"{path}: the teacher's classes {classes.tolist()} are not the store's {list(store.classes)}")
    return np.asarray(probabilities)
