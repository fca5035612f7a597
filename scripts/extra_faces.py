"""UTKFace's web faces as extra training faces for a FER+ student, labelled by teachers only (issue 41).

UTKFace has no emotion labels, but 18,965 faces of every age, lit and posed as web photos are, in its Training
split (its PublicTest and PrivateTest faces stay out: they measure the age models). Two steps:

`crop` cuts each face the way `ferkit analyze` does (`Analyzer.detect`: YuNet, searching a photo this small at twice
its size; the strongest face; `Analyzer.crops`: its margin and alignment; gray, 48x48, equalised like the FER+ store)
into a store of FER+'s classes with no votes, for `ferkit teacher`:

    python scripts/extra_faces.py crop ../shared/data/utkface-96px.tar.gz --utkface stores/utkface.npz \\
        --out stores/utkface-faces.npz
    ferkit teacher ferplus-ensemble --store stores/utkface-faces.npz --views mirror --out teachers/ferplus-on-utk.npz
    ferkit teacher fer2013-ensemble --store stores/utkface-faces.npz --views mirror --out teachers/fer2013-on-utk.npz

`merge` appends them (or `--limit` of them: `chosen_faces`) to FER+'s Training split, their votes the FER+
teacher's answer (in hundredths, so a vote share keeps two digits), and writes the teacher file of the merged
store for the FER2013 head: the FER+ faces' rows of the existing file, then the FER2013 teacher's rows for the
new faces:

    python scripts/extra_faces.py merge --ferplus stores/ferplus.npz --faces stores/utkface-faces.npz \\
        --ferplus-teacher teachers/ferplus-on-utk.npz --fer2013-teacher teachers/fer2013-on-utk.npz \\
        --head-teacher teachers/fer2013-labels-and-ensemble.npz \\
        --out stores/ferplus-utk.npz --out-teacher teachers/fer2013-labels-and-ensemble-utk.npz --limit 8000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ferkit.data import load_store
from ferkit.data.sources import iter_entries
from ferkit.data.store import FerStore
from ferkit.errors import FerkitError
from ferkit.evaluation.teacher import read_teacher_targets, save_teacher_targets
from ferkit.faces import prepare_faces
from ferkit.labels import SPLITS
from ferkit.progress import Progress
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.views import Views

FACE_SIZE = 48
VOTE_SCALE = 100  # a teacher's probability as votes in hundredths (uint8 holds the 100 a face sums to)


def crop_faces(source: Path, training_names: set[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Each Training face cut as the Analyzer cuts it; photos where it finds no face are left out. (Until
    2026-12-07 YuNet searched the 96 px photo at its own size, where `Analyzer.detect` searches it at twice: the
    faces that trained release-student-quarter-two-heads-utk were cut that way.)"""
    analyzer = Analyzer(AnalyzerOptions(threads=1, age=False))
    faces, names, missed = [], [], 0
    bar = Progress(len(training_names), "crop", "faces")
    for name, data in iter_entries(source, lambda entry: PurePosixPath(entry).name in training_names):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        found = analyzer.detect(image) if image is not None else []
        bar.update(1)
        if not found:
            missed += 1
            continue
        strongest = max(found, key=lambda face: face.score)
        faces.append(analyzer.crops(image, [strongest])[0])
        names.append(PurePosixPath(name).name)
    bar.close()
    return prepare_faces(faces, FACE_SIZE, equalize=True), np.array(names), missed


def cmd_crop(args: argparse.Namespace) -> int:
    utkface = load_store(args.utkface)
    training = set(utkface.source_ids[utkface.splits == SPLITS.index("Training")].tolist())
    ferplus_classes = load_store(args.ferplus).classes
    images, names, missed = crop_faces(Path(args.source), training)
    store = FerStore(
        images=images,
        labels=np.full(len(images), -1, np.int16),
        splits=np.full(len(images), SPLITS.index("Training"), np.int8),
        source_ids=names,
        classes=ferplus_classes,
        label_set="ferplus",
        source="utkface",
        equalized=True,
        extra={"cropped_as": "ferkit analyze (Analyzer.detect and .crops), 48x48 gray, equalised"},
    )
    store.save(args.out, force=args.force)
    print(f"{args.out}: {len(images)} faces cropped; YuNet found no face on {missed} of {len(training)} photos")
    return 0


def chosen_faces(shares: np.ndarray, fer2013_shares: np.ndarray, classes: tuple[str, ...], limit: int) -> np.ndarray:
    """Which faces join, in their order: web portraits are mostly neutral or happy (about 98% to the FER+
    teacher), so every face either teacher reads otherwise joins, and a seeded random pick of the rest fills up to
    `limit`: the extra faces widen what the student sees without doubling FER+'s two commonest classes."""
    common = [classes.index("neutral"), classes.index("happiness")]
    rare = ~np.isin(shares.argmax(axis=1), common) | ~np.isin(fer2013_shares.argmax(axis=1), common)
    rest = np.flatnonzero(~rare)
    room = min(max(limit - int(rare.sum()), 0), len(rest)) if limit else len(rest)
    picked = np.random.default_rng(0).choice(rest, room, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(rare), picked]))


def cmd_merge(args: argparse.Namespace) -> int:
    ferplus, every_face = load_store(args.ferplus), load_store(args.faces)
    if every_face.classes != ferplus.classes:
        raise FerkitError(f"{args.faces}: classes {every_face.classes} are not the FER+ store's {ferplus.classes}")
    all_shares = read_teacher_targets(args.ferplus_teacher, every_face)
    all_fer2013 = read_teacher_targets(args.fer2013_teacher, every_face)
    kept = chosen_faces(all_shares, all_fer2013, ferplus.classes, args.limit)
    faces, shares = every_face.subset(kept), all_shares[kept]
    votes = np.zeros((len(faces), len(ferplus.vote_columns)), np.uint8)
    columns = [ferplus.vote_columns.index(name) for name in ferplus.classes]
    votes[:, columns] = np.rint(shares * VOTE_SCALE).astype(np.uint8)
    merged = FerStore(
        images=np.concatenate([ferplus.images, faces.images]),
        labels=np.concatenate([ferplus.labels, faces.labels]),
        splits=np.concatenate([ferplus.splits, faces.splits]),
        source_ids=np.concatenate([ferplus.source_ids.astype(str), np.char.add("utkface/", faces.source_ids)]),
        classes=ferplus.classes,
        label_set=ferplus.label_set,
        source=ferplus.source,
        votes=np.concatenate([ferplus.votes, votes]),
        vote_columns=ferplus.vote_columns,
        equalized=ferplus.equalized,
        extra={
            **ferplus.extra,
            "extra_training_faces": f"{len(faces)} UTKFace faces, votes from {args.ferplus_teacher}",
        },
    )
    head_rows = np.concatenate([read_teacher_targets(args.head_teacher, ferplus), all_fer2013[kept]])
    merged.save(args.out, force=args.force)
    save_teacher_targets(
        args.out_teacher, head_rows, merged, f"{args.head_teacher} + {args.fer2013_teacher}", Views.MIRROR
    )
    print(f"{args.out}: {len(ferplus)} FER+ faces + {len(faces)} UTKFace faces; teacher file {args.out_teacher}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    crop = steps.add_parser("crop", help="cut UTKFace's Training faces as the Analyzer does")
    crop.add_argument("source", help="../shared/data/utkface-96px.tar.gz")
    crop.add_argument("--utkface", required=True, help="the UTKFace store (its Training split picks the faces)")
    crop.add_argument("--ferplus", default="stores/ferplus.npz", help="the FER+ store (its classes)")
    crop.add_argument("--out", required=True)
    crop.add_argument("--force", action="store_true")
    merge = steps.add_parser("merge", help="append the cropped faces to the FER+ store's Training split")
    for flag in ("--ferplus", "--faces", "--ferplus-teacher", "--fer2013-teacher", "--head-teacher", "--out"):
        merge.add_argument(flag, required=True)
    merge.add_argument("--out-teacher", required=True)
    merge.add_argument("--limit", type=int, default=0, help="at most this many faces join (0: all); see chosen_faces")
    merge.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    try:
        return cmd_crop(args) if args.step == "crop" else cmd_merge(args)
    except FerkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
