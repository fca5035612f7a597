"""Does eye alignment help, and which crop margin matches the training faces? Measured, not assumed.

Validation faces (PublicTest: selection data, never PrivateTest) are enlarged onto a larger canvas and turned
by a known angle; the full runtime (detector -> crop -> model) then reads them with and without alignment and
with several margins. The baseline is the same model on the untouched crops. With an emotion store the score
is accuracy; with an age store (UTKFace) it is the age model's mean absolute error in years.

    python bench/bench_alignment.py --store stores/fer2013.npz [--count 600] [--angles 0 15 30]
    python bench/bench_alignment.py --store stores/utkface.npz --margins 0 0.15 0.3
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from ferkit.cpu import cpu_line
from ferkit.data import load_store
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.detectors import create_detector


def staged(face: np.ndarray, angle: float, scale: int = 3, canvas: int = 320) -> np.ndarray:
    """The 48x48 face enlarged, centred on a mid-grey canvas and turned by `angle` degrees."""
    big = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    image = np.full((canvas, canvas), 128, np.uint8)
    offset = (canvas - big.shape[0]) // 2
    image[offset : offset + big.shape[0], offset : offset + big.shape[1]] = big
    matrix = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), angle, 1.0)
    turned = cv2.warpAffine(image, matrix, (canvas, canvas), flags=cv2.INTER_LINEAR, borderValue=128)
    return cv2.cvtColor(turned, cv2.COLOR_GRAY2BGR)


def framing_margin(faces, scale: int = 3) -> tuple[float, int]:
    """The crop margin that reproduces the training crop around the detector's box (median over faces)."""
    detector = create_detector("yunet")
    margins = []
    for face in faces:
        found = detector.detect(staged(face, 0, scale))
        if found:
            side = max(max(found, key=lambda f: f.width).width, max(found, key=lambda f: f.width).height)
            margins.append((face.shape[0] * scale / side - 1) / 2)
    return float(np.median(margins)), len(margins)


def score(analyzer: Analyzer, faces, labels, angle: float, age: bool) -> tuple[float, float]:
    """(accuracy counting misses as wrong, or age MAE over the detected faces; share of faces detected)."""
    hits, errors, found = 0, [], 0
    for face, label in zip(faces, labels):
        result = analyzer.analyze(staged(face, angle))
        if not result.faces:
            continue
        found += 1
        best = max(result.faces, key=lambda f: f.bbox[2] - f.bbox[0])
        if age:
            errors.append(abs(best.age - label))
        else:
            hits += analyzer.classes.index(max(best.probabilities, key=best.probabilities.get)) == label
    value = float(np.mean(errors)) if age else hits / len(faces)
    return value, found / len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--angles", type=float, nargs="+", default=[0, 15, 30])
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3])
    parser.add_argument("--model")
    parser.add_argument("--age-model")
    args = parser.parse_args()
    print(cpu_line())
    store = load_store(args.store).split("PublicTest")
    age = store.label_set == "age"
    chosen = np.random.default_rng(0).choice(len(store), min(args.count, len(store)), replace=False)
    faces, labels = store.images[chosen], store.labels[chosen]
    if age:
        estimates = Analyzer(model=args.model, age_model=args.age_model).age_estimator.model.predict_prepared(faces)
        baseline = f"MAE {np.abs(estimates @ np.arange(estimates.shape[1]) - labels).mean():.2f} years"
    else:
        direct = Analyzer(model=args.model).recognizer.predict_prepared(faces).argmax(1)
        baseline = f"accuracy {(direct == labels).mean():.4f}"
    print(f"{len(faces)} PublicTest faces; the model on the original crops (baseline): {baseline}")
    margin, counted = framing_margin(faces)
    print(f"margin that reproduces the training crop around YuNet's box: {margin:+.3f} (median of {counted} faces)")
    print(
        f"{'margin':>7}{'align':>7}"
        + "".join(f"{f'{a:g} deg':>16}" for a in args.angles)
        + f"   ({'age MAE' if age else 'accuracy'}, detected)"
    )
    for margin in args.margins:
        for align in (False, True):
            analyzer = Analyzer(AnalyzerOptions(margin=margin, align=align), model=args.model, age_model=args.age_model)
            cells = [score(analyzer, faces, labels, angle, age) for angle in args.angles]
            print(f"{margin:>7.2f}{str(align):>7}" + "".join(f"{acc:>9.4f} {seen:>5.2f}" for acc, seen in cells))


if __name__ == "__main__":
    main()
