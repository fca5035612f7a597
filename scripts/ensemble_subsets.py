"""Every subset of candidate ONNX members, averaged, on both test splits: which members an ensemble should keep.
Each member runs once per split and crop mode; the subsets reuse its probabilities, so trying k members costs k
evaluations, not 2**k. The subset to ship is the one with the best PublicTest accuracy (marked); PrivateTest is
printed beside it for the report, never to choose.

    python scripts/ensemble_subsets.py A.onnx B.onnx C.onnx --store stores/ferplus.npz
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

from ferkit.data import load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import images_as_the_model_expects
from ferkit.evaluation.metrics import classification_report
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.views import Views

SPLITS = ("PublicTest", "PrivateTest")
CROPS = {"centre": Views.CENTRE, "ten": Views.TEN}


def member_probabilities(paths: list[str], store_path: str) -> tuple[dict, dict]:
    store = load_store(store_path)
    members = {path: EmotionRecognizer(path, spin=False) for path in paths}
    probabilities, labels = {}, {}
    for split in SPLITS:
        part = store.split(split)
        part = part.subset(part.labels >= 0)
        labels[split] = part.labels
        for path, member in members.items():
            faces = images_as_the_model_expects(part, member, store_path)
            for crop, views in CROPS.items():
                probabilities[path, split, crop] = member.predict_prepared(faces, views)
    return probabilities, labels


def subset_reports(subset: tuple[str, ...], probabilities: dict, labels: dict) -> dict:
    reports = {}
    for split, crop in itertools.product(SPLITS, CROPS):
        averaged = np.mean([probabilities[member, split, crop] for member in subset], axis=0)
        reports[split, crop] = classification_report(labels[split], averaged.argmax(1), range(averaged.shape[1]))
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("members", nargs="+")
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    probabilities, labels = member_probabilities(args.members, args.store)
    subsets = [
        subset for size in range(1, len(args.members) + 1) for subset in itertools.combinations(args.members, size)
    ]
    reports = {subset: subset_reports(subset, probabilities, labels) for subset in subsets}
    best = max(subsets, key=lambda subset: reports[subset]["PublicTest", "centre"].accuracy)
    print("accuracy (macro-F1): " + " | ".join(f"{split} {crop}" for split, crop in itertools.product(SPLITS, CROPS)))
    for subset in subsets:
        names = " + ".join(Path(member).stem for member in subset)
        figures = " | ".join(f"{r.accuracy:.4f} ({r.macro_f1:.4f})" for r in reports[subset].values())
        print(f"{'*' if subset == best else ' '} {names}: {figures}")


if __name__ == "__main__":
    try:
        main()
    except FerkitError as error:  # a missing store or member is the user's to fix, not a traceback
        sys.exit(f"error: {error}")
