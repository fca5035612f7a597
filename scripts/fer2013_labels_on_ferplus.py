"""FER2013's own label for each FER+ face, as a teacher file for a FER+ store: the target of a two-head student's
FER2013 head (data.teacher_head), half FER2013's label and half a FER2013 teacher's answer, as fer2013-fast was
taught. FER+ relabels FER2013's images, but the Kaggle image release names its files by random ids, so faces are
paired by their pixels: the FER+ PNG equalised (as the Kaggle JPEGs were) against each Kaggle JPEG of the same
split, nearest 12x12 thumbnail, kept when that thumbnail is nearly the same (cosine 0.95 or more) and clearly
nearer than the next (by 0.05). A face without a partner keeps the teacher's answer alone. On PublicTest the
pairs' FER2013 labels agree with FER+'s majority on 58-64% of faces whatever their pixel difference (2,227 pairs
under 4 grey levels, 136 over 20): equalisation and JPEG differ, the faces do not.

    python scripts/fer2013_labels_on_ferplus.py --ferplus stores/ferplus.npz --fer2013 stores/fer2013.npz \\
        --teacher teachers/fer2013-ensemble-on-ferplus-mirror.npz --out teachers/fer2013-labels-and-ensemble.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ferkit.atomic import atomic_write
from ferkit.data import load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.teacher import read_teacher_targets
from ferkit.labels import class_map

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ferplus", required=True, help="the FER+ store (prepared with --equalize)")
    parser.add_argument("--fer2013", required=True, help="the FER2013 store (the Kaggle image release)")
    parser.add_argument("--teacher", required=True, help="a FER2013 teacher's file for the FER+ store")
    parser.add_argument("--label-weight", type=float, default=0.5, help="the label's share of each target")
    parser.add_argument("--out", required=True, help="the teacher file to write (.npz)")
    args = parser.parse_args(argv)
    try:
        ferplus, fer2013 = load_store(args.ferplus), load_store(args.fer2013)
        if not ferplus.equalized:
            raise FerkitError(f"{args.ferplus}: prepare it with --equalize, as the Kaggle faces were")
        taught = read_teacher_targets(args.teacher, ferplus)
    except FerkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    # class_map gives, for each FER+ column, its FER2013 class: turned round, each FER2013 label's column.
    column_of = {
        source: column for column, source in enumerate(class_map(tuple(fer2013.classes), tuple(ferplus.classes)))
    }
    columns = np.array([column_of[index] for index in range(len(fer2013.classes))])
    targets = taught.astype(np.float32).copy()
    for split in ("Training", "PublicTest", "PrivateTest"):
        mine, theirs = np.flatnonzero(ferplus.split_mask(split)), np.flatnonzero(fer2013.split_mask(split))
        partner, paired = pair_faces(ferplus.images[mine], fer2013.images[theirs])
        labels = np.zeros((paired.sum(), targets.shape[1]), np.float32)
        labels[np.arange(paired.sum()), columns[fer2013.labels[theirs[partner[paired]]]]] = 1
        rows = mine[paired]
        targets[rows] = args.label_weight * labels + (1 - args.label_weight) * taught[rows]
        print(f"{split:<12} {paired.sum()} of {len(mine)} FER+ faces paired with their FER2013 copy")
    arrays = {
        "probabilities": targets,
        "classes": np.array(ferplus.classes),
        "store_hash": np.array(ferplus.data_hash()),
        "teacher": np.array(f"FER2013 labels x {args.label_weight} + {Path(args.teacher).name}"),
        "views": np.array("mirror"),
    }
    out = atomic_write(Path(args.out), lambda tmp: np.savez_compressed(open(tmp, "wb"), **arrays))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
