"""Calibration error of one model at several temperatures on several stores' test splits, as `ferkit analyze`
answers (runtime path, the model's own views, the file's prior correction if it has one, read in each store's
classes): which labels a temperature suits.

    python scripts/temperature_sweep.py both --store stores/ferplus.npz --store stores/fer2013.npz
"""

from __future__ import annotations

import argparse
import sys

from ferkit import calibration
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import analyzer_views, labelled_part
from ferkit.labels import in_classes
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.runtime.shipped import emotion_model_path

TEMPERATURES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4)  # and the file's own, fitted by `ferkit calibrate`
SPLITS = ("PublicTest", "PrivateTest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a shipped model's name or an .onnx file")
    parser.add_argument("--store", action="append", required=True, help="a store to measure on (repeatable)")
    parser.add_argument(
        "--temperature", type=float, action="append", help=f"default: {TEMPERATURES} and the file's own"
    )
    args = parser.parse_args(argv)
    try:
        model = EmotionRecognizer(emotion_model_path(args.model), calibrated=False)
        answered = {}
        for store in args.store:
            classes = labelled_part(model, store, "PublicTest").classes
            for split in SPLITS:
                answered[store, split] = (*analyzer_views(model, store, split, model.card.views), classes)
    except FerkitError as error:
        print(f"temperature_sweep: error: {error}", file=sys.stderr)
        return 2
    fit = model.card.calibration
    prior = f", FER's prior divided out to the power {fit.prior_power}" if fit.prior_power else ""
    print(f"{args.model}: ECE as analyzed ({model.card.views.value}{prior}), by temperature")
    print("T      " + "  ".join(f"{store}:{split}" for store, split in answered))
    for temperature in args.temperature or sorted({*TEMPERATURES, fit.temperature}):
        cells = []
        for views, labels, classes in answered.values():
            answers = calibration.scale_views(views, temperature, fit.log_bias)
            probabilities = in_classes(answers, model.classes, classes)
            cells.append(f"{calibration.reliability(probabilities, labels).ece:.3f}")
        print(f"{temperature:<6g} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
