"""How a two-head checkpoint (data.teacher_head) should mix its heads: each mix's PublicTest figures on every store
given, faces fed as `ferkit analyze` feeds a crop (one view, no mirror). Each head runs once per store; the mixes
reuse its probabilities. Choose on PublicTest only (PrivateTest is for the report); the chosen mix goes into the
card with `ferkit export ... --teacher-share`.

    python scripts/head_mix.py runs/RUN/best.pt --store stores/ferplus.npz --store stores/fer2013.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import labelled_part, runtime_faces
from ferkit.evaluation.metrics import classification_report
from ferkit.labels import in_classes
from ferkit.training.predict import CheckpointPredictor

MIXES = np.round(np.linspace(0, 1, 11), 2)  # the teacher head's share


def head_probabilities(predictor: CheckpointPredictor, store_path: str, split: str) -> tuple[list, np.ndarray]:
    """Each head's probabilities alone, in the store's classes, and the labels."""
    _, part, classes = labelled_part(predictor, store_path, split)
    faces = runtime_faces(part, predictor)
    heads = predictor.model.fc.mix.shape[1]
    answers = []
    for head in range(heads):
        predictor.model.fc.mix = torch.nn.functional.one_hot(torch.tensor(head), heads).float().view(1, -1, 1)
        probabilities = predictor.predict_prepared(faces)
        answers.append(in_classes(probabilities, tuple(predictor.classes), classes))
    return answers, part.labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a two-head checkpoint (best.pt or last.pt)")
    parser.add_argument("--store", action="append", required=True, help="a store to measure on (repeatable)")
    parser.add_argument("--split", default="PublicTest", help="the split to measure (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        predictor = CheckpointPredictor(args.checkpoint)
        if not hasattr(predictor.model.fc, "mix"):
            raise FerkitError(f"{args.checkpoint}: one head only (no data.teacher_head)")
        measured = {path: head_probabilities(predictor, path, args.split) for path in args.store}
    except FerkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.split}: accuracy / balanced accuracy / macro-F1 by the teacher head's share of the answer")
    print("share  " + "  ".join(f"{path:>32}" for path in args.store))
    for share in MIXES:
        cells = []
        for heads, labels in measured.values():
            mixed = (1 - share) * heads[0] + share * heads[-1]
            report = classification_report(labels, mixed.argmax(1), [str(i) for i in range(mixed.shape[1])])
            cells.append(f"{report.accuracy:.4f} / {report.balanced_accuracy:.4f} / {report.macro_f1:.4f}")
        print(f"{share:5.2f}  " + "  ".join(f"{cell:>32}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
