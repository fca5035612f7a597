"""FER+ faces paired with their FER2013 copies by pixels. FER+ relabels FER2013's images, but the Kaggle image
release names its files by random ids: the FER+ PNG equalised (as the Kaggle JPEGs were) against each Kaggle JPEG
of the same split, nearest 12x12 thumbnail, kept when that thumbnail is nearly the same (cosine 0.95 or more) and
clearly nearer than the next (by 0.05). Used to teach a FER+ student FER2013's labels
(scripts/fer2013_labels_on_ferplus.py) and to read one model on both label sets of the same faces
(scripts/label_sets_frontier.py)."""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL = 12
MIN_SIMILARITY, MIN_MARGIN = 0.95, 0.05  # a face's copy scores 0.97-1.00; the next nearest face about 0.73


def thumbnails(images: np.ndarray) -> np.ndarray:
    """Unit-norm, zero-mean 12x12 thumbnails: what pairs a face with its JPEG copy."""
    small = np.stack([cv2.resize(image, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA) for image in images])
    flat = small.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-6)


def pair_faces(ferplus_faces: np.ndarray, fer2013_faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each FER+ face: the index of its FER2013 copy, and whether it has one (see MIN_SIMILARITY)."""
    query, base = thumbnails(ferplus_faces), thumbnails(fer2013_faces)
    partner, paired = np.empty(len(query), np.int64), np.empty(len(query), bool)
    for start in range(0, len(query), 1024):
        similarity = query[start : start + 1024] @ base.T
        nearest = np.argpartition(-similarity, 1, axis=1)[:, :2]
        best, second = np.take_along_axis(similarity, nearest, axis=1).T
        swap = second > best
        best, second = np.where(swap, second, best), np.where(swap, best, second)
        partner[start : start + 1024] = np.where(swap, nearest[:, 1], nearest[:, 0])
        paired[start : start + 1024] = (best >= MIN_SIMILARITY) & (best - second >= MIN_MARGIN)
    return partner, paired
