"""One model, both label sets, the same faces: how far a single answer can satisfy FER+'s majority and FER2013's
own label at once (issue 41's target asks for both within 1.5 points of the best single model of each).

FER+ relabels FER2013's images, so each FER+ face of a split is paired with its FER2013 copy (data.pairing) and
kept when its FER+ majority is one of FER2013's seven classes. Every model then answers once per face, as `ferkit
analyze` answers (runtime path, its own views), read in those seven classes, and is scored against both labels.
Where the two labels differ only one can be right, so no model's two accuracies can sum past 1 + the labels'
agreement: the ceiling line in the picture.

    python scripts/label_sets_frontier.py --ferplus stores/ferplus.npz --fer2013 stores/fer2013.npz \\
        --plot label-sets.png
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import numpy as np

from ferkit.data import FerStore, load_store
from ferkit.data.pairing import pair_faces
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import runtime_faces
from ferkit.labels import FER2013_CLASSES, canonical, restrict_probabilities
from ferkit.runtime.shipped import load_emotion_model, shipped_emotion_models

SHARED = tuple(canonical(name) for name in FER2013_CLASSES)


class PairedFaces(NamedTuple):
    faces: FerStore  # the FER+ store's faces (its pixels are what every model reads)
    ferplus_labels: np.ndarray  # FER+ majority, as an index into SHARED
    fer2013_labels: np.ndarray  # the FER2013 copy's label, as an index into SHARED


def paired_faces(ferplus_path: str, fer2013_path: str, split: str) -> PairedFaces:
    ferplus, fer2013 = load_store(ferplus_path).split(split), load_store(fer2013_path).split(split)
    if not ferplus.equalized:
        raise FerkitError(f"{ferplus_path}: prepare it with --equalize, as the Kaggle faces were")
    partner, paired = pair_faces(ferplus.images, fer2013.images)
    ferplus_names = np.array([canonical(name) for name in ferplus.classes] + [""])  # -1 (no majority) -> ""
    ferplus_label = ferplus_names[ferplus.labels]
    kept = paired & np.isin(ferplus_label, SHARED)
    fer2013_label = np.array([canonical(fer2013.classes[index]) for index in fer2013.labels[partner[kept]]])
    return PairedFaces(
        ferplus.subset(kept),
        np.array([SHARED.index(name) for name in ferplus_label[kept]]),
        np.array([SHARED.index(name) for name in fer2013_label]),
    )


class Reading(NamedTuple):
    ferplus: float  # accuracy on FER+'s majority labels
    fer2013: float  # accuracy on FER2013's labels
    label_set: str  # what the model was trained on (its card): which best single model it is measured against


def read_both(model_name: str, paired: PairedFaces) -> Reading:
    """The model's answer for each face, as analyze gives it, read in FER2013's seven classes, scored twice."""
    model = load_emotion_model(model_name)
    probabilities = model.predict_prepared(runtime_faces(paired.faces, model), model.card.views)
    answer = restrict_probabilities(probabilities, tuple(model.classes), tuple(FER2013_CLASSES)).argmax(axis=1)
    ferplus, fer2013 = (float((answer == labels).mean()) for labels in (paired.ferplus_labels, paired.fer2013_labels))
    return Reading(ferplus, fer2013, model.card.label_set or "")


def plot(rows: dict[str, Reading], ceiling: float, target: tuple[float, float], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    for name, (ferplus, fer2013, _) in rows.items():
        axes.scatter(ferplus, fer2013, color="#c0392b" if name == "both" else "#2c3e50", zorder=3)
        axes.annotate(name, (ferplus, fer2013), textcoords="offset points", xytext=(5, 4), fontsize=8)
    low_x, low_y = 0.55, 0.5
    xs = np.linspace(low_x, 1, 50)
    axes.plot(xs, ceiling - xs, color="#7f8c8d", linestyle="--", label=f"ceiling: sum = 1 + agreement = {ceiling:.3f}")
    axes.add_patch(
        plt.Rectangle(target, 1 - target[0], 1 - target[1], color="#27ae60", alpha=0.15, label="issue 41's target")
    )
    axes.set_xlim(low_x, 1)
    axes.set_ylim(low_y, 0.85)
    axes.set_xlabel("accuracy on FER+'s majority label")
    axes.set_ylabel("accuracy on FER2013's label")
    axes.set_title("One answer, two label sets: PrivateTest faces in both, as analyzed")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ferplus", required=True, help="the FER+ store (prepared with --equalize)")
    parser.add_argument("--fer2013", required=True, help="the FER2013 store (the Kaggle image release)")
    parser.add_argument("--split", default="PrivateTest", help="measured only; nothing is chosen (%(default)s)")
    parser.add_argument("--model", action="append", help="a shipped model (repeatable; default: every one)")
    parser.add_argument("--plot", help="write the picture here (.png)")
    args = parser.parse_args(argv)
    try:
        paired = paired_faces(args.ferplus, args.fer2013, args.split)
        rows = {}
        for name in args.model or shipped_emotion_models():
            rows[name] = reading = read_both(name, paired)
            total = reading.ferplus + reading.fer2013
            print(f"{name:<18} FER+ {reading.ferplus:.4f}  FER2013 {reading.fer2013:.4f}  sum {total:.4f}", flush=True)
    except FerkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    agreement = float((paired.ferplus_labels == paired.fer2013_labels).mean())
    print(f"{len(paired.faces)} {args.split} faces in both label sets; the labels agree on {agreement:.4f}")
    print(f"ceiling on any one answer: FER+ accuracy + FER2013 accuracy <= {1 + agreement:.4f}")
    # The best single (not ensembled) model trained on each label set, read on its own labels.
    singles = [reading for name, reading in rows.items() if "ensemble" not in name]
    best_ferplus = max((r.ferplus for r in singles if r.label_set == "ferplus"), default=None)
    best_fer2013 = max((r.fer2013 for r in singles if r.label_set == "fer2013"), default=None)
    if best_ferplus is not None and best_fer2013 is not None:
        target = (best_ferplus - 0.015, best_fer2013 - 0.015)
        print(f"issue 41's target here: FER+ >= {target[0]:.4f} and FER2013 >= {target[1]:.4f} (sum {sum(target):.4f})")
        if args.plot:
            plot(rows, 1 + agreement, target, args.plot)
            print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
