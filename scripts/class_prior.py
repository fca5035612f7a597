"""How much a model's answers lean on FER's class frequencies, and what taking part of that lean out would do.

FER's faces are mostly happy and neutral (FER2013 Training: 25% happy, 1.5% disgust), and a network trained on
them answers with that prior built in. Photos elsewhere are spread otherwise (issue 41's hidden web photos hold
208 disgusted faces of 1,916; its posed faces no neutral ones), and where classes are near even, the balanced
accuracy on FER is the better guide to plain accuracy there. Logit adjustment (Menon et al., ICLR 2021) divides
each answer by prior**tau: here the prior is the model's own mean answer on PublicTest (no labels), tau one number.
On the paired faces of `scripts/label_sets_frontier.py` (both label sets, FER2013's seven classes, as analyzed),
for each tau: accuracy and balanced accuracy on FER+'s majority and FER2013's label, PublicTest (to choose on)
and PrivateTest (to report). Nothing is changed in the model; this measures what a prior correction would buy.

    python scripts/class_prior.py --ferplus stores/ferplus.npz --fer2013 stores/fer2013.npz [--model both]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from label_sets_frontier import paired_faces  # scripts/ is on the path of a script run from it

from ferkit.evaluation.evaluate import runtime_faces
from ferkit.evaluation.metrics import classification_report
from ferkit.labels import FER2013_CLASSES, restrict_probabilities
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.runtime.shipped import emotion_model_path

TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)


def log_answers(model, ferplus: str, fer2013: str, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-probabilities as analyzed in FER2013's seven classes, FER+'s majority and FER2013's label per face."""
    paired = paired_faces(ferplus, fer2013, split)
    probabilities = model.predict_prepared(runtime_faces(paired.faces, model), model.card.views)
    probabilities = restrict_probabilities(probabilities, tuple(model.classes), tuple(FER2013_CLASSES))
    return np.log(np.clip(probabilities, 1e-8, 1)), paired.ferplus_labels, paired.fer2013_labels


def readings(log_probabilities: np.ndarray, bias: np.ndarray, *label_sets: np.ndarray) -> list[float]:
    """Accuracy on each label set, then balanced accuracy (mean per-class recall) on each."""
    answer = (log_probabilities + bias).argmax(axis=1)
    reports = [classification_report(labels, answer, FER2013_CLASSES) for labels in label_sets]
    return [report.accuracy for report in reports] + [report.balanced_accuracy for report in reports]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ferplus", required=True, help="the FER+ store (prepared with --equalize)")
    parser.add_argument("--fer2013", required=True, help="the FER2013 store (the Kaggle image release)")
    parser.add_argument("--model", default="both", help="shipped name or .onnx file (default: both)")
    args = parser.parse_args(argv)
    # The answers as trained: without the file's temperature and any prior correction it already carries.
    model = EmotionRecognizer(emotion_model_path(args.model), calibrated=False)
    public, private = (log_answers(model, args.ferplus, args.fer2013, split) for split in ("PublicTest", "PrivateTest"))
    prior = np.exp(public[0]).mean(axis=0)
    prior /= prior.sum()
    print(
        f"{args.model}: its mean answer on PublicTest, the prior taken out: "
        + ", ".join(f"{name} {share:.3f}" for name, share in zip(FER2013_CLASSES, prior))
    )
    print("tau    PublicTest: FER+ / FER2013, balanced FER+ / FER2013   PrivateTest: the same")
    for tau in TAUS:
        bias = -tau * np.log(prior)
        figures = [f"{value:.4f}" for split in (public, private) for value in readings(split[0], bias, *split[1:])]
        print(
            f"{tau:<5}  {' / '.join(figures[:2])}, {' / '.join(figures[2:4])}   {' / '.join(figures[4:6])}, "
            f"{' / '.join(figures[6:])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
