"""Post-hoc logit adjustment (Menon et al. 2021): subtract tau x log(class prior) from a model's log-probabilities,
so rare classes (FER+'s disgust and contempt) are predicted more often. Prints accuracy and balanced accuracy
(mean per-class recall) on both test splits for each tau, and marks the tau PublicTest chooses: the best balanced
accuracy whose accuracy stays within --budget of the unadjusted model's. PrivateTest is printed, never used.
--per-class then fits one bias per class on PublicTest instead (coordinate search under the same budget), to
see whether freer adjustments carry over to PrivateTest.

    python scripts/logit_adjustment.py ferplus-ensemble --store stores/ferplus.npz [--per-class]
"""

from __future__ import annotations

import argparse

import numpy as np

from ferkit.data import load_store
from ferkit.evaluation.evaluate import predict_on_store
from ferkit.evaluation.metrics import ClassificationReport, classification_report
from ferkit.runtime.shipped import load_emotion_model

SPLITS = ("PublicTest", "PrivateTest")


def training_prior(store_path: str, classes: int) -> np.ndarray:
    part = load_store(store_path).split("Training")
    counts = np.bincount(part.labels[part.labels >= 0], minlength=classes)
    return np.maximum(counts, 1) / counts.sum()


def adjusted_report(probabilities, labels, prior, tau: float, classes) -> ClassificationReport:
    scores = np.log(np.clip(probabilities, 1e-12, 1.0)) - tau * np.log(prior)
    return classification_report(labels, scores.argmax(1), classes)


def fit_class_biases(probabilities, labels, classes, floor: float, rounds: int = 4) -> np.ndarray:
    """Per-class additions to the log-probabilities: the best PublicTest balanced accuracy above `floor`."""
    bias = np.zeros(len(classes))
    best = classification_report(labels, probabilities.argmax(1), classes).balanced_accuracy
    for _ in range(rounds):
        for index in range(len(classes)):
            for value in np.round(np.arange(-1.0, 4.0 + 1e-9, 0.1), 2):
                trial = bias.copy()
                trial[index] = value
                report = adjusted_report(probabilities, labels, np.exp(-trial), 1.0, classes)
                if report.accuracy >= floor and report.balanced_accuracy > best + 1e-9:
                    best, bias = report.balanced_accuracy, trial
    return bias


def print_per_class(model, predictions, floor: float) -> None:
    bias = fit_class_biases(*predictions["PublicTest"], model.classes, floor)
    print(f"per-class biases fitted on PublicTest: {dict(zip(model.classes, bias.round(2).tolist()))}")
    for split in SPLITS:
        report = adjusted_report(*predictions[split], np.exp(-bias), 1.0, model.classes)
        recall = " ".join(f"{value:.2f}" for value in report.recall.values())
        print(f"  {split} acc {report.accuracy:.4f} balanced {report.balanced_accuracy:.4f}  recall {recall}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a shipped model's name, an .onnx file or an ensemble .json")
    parser.add_argument("--store", required=True)
    parser.add_argument("--budget", type=float, default=0.005, help="PublicTest accuracy it may lose")
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--per-class", action="store_true", help="also fit one bias per class on PublicTest")
    args = parser.parse_args()
    model = load_emotion_model(args.model)
    predictions = {split: predict_on_store(model, args.store, split) for split in SPLITS}
    prior = training_prior(args.store, len(model.classes))
    taus = np.round(np.arange(0.0, 1.0 + 1e-9, args.step), 4)
    reports = {tau: {s: adjusted_report(*predictions[s], prior, tau, model.classes) for s in SPLITS} for tau in taus}
    floor = reports[0.0]["PublicTest"].accuracy - args.budget
    eligible = [tau for tau in taus if reports[tau]["PublicTest"].accuracy >= floor]
    chosen = max(eligible, key=lambda tau: reports[tau]["PublicTest"].balanced_accuracy)
    print(f"{args.model}: training prior {np.round(prior, 3).tolist()} over {list(model.classes)}")
    for tau in taus:
        public, private = reports[tau]["PublicTest"], reports[tau]["PrivateTest"]
        recall = " ".join(f"{value:.2f}" for value in private.recall.values())
        print(
            f"{'*' if tau == chosen else ' '} tau {tau:.2f}  PublicTest acc {public.accuracy:.4f} "
            f"balanced {public.balanced_accuracy:.4f} | PrivateTest acc {private.accuracy:.4f} "
            f"balanced {private.balanced_accuracy:.4f}  recall {recall}"
        )
    print(f"* chosen on PublicTest: best balanced accuracy within {args.budget:.3f} of its unadjusted accuracy")
    if args.per_class:
        print_per_class(model, predictions, floor)


if __name__ == "__main__":
    main()
