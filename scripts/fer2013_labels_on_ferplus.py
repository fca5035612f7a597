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

import numpy as np

from ferkit.data import load_store
from ferkit.data.pairing import pair_faces
from ferkit.errors import FerkitError
from ferkit.evaluation.teacher import read_teacher_targets, save_teacher_targets
from ferkit.labels import class_map
from ferkit.views import Views


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
    name = f"FER2013 labels x {args.label_weight} + {Path(args.teacher).name}"
    out = save_teacher_targets(args.out, targets, ferplus, name, Views.MIRROR)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
