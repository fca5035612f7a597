"""Does eye alignment help, and which crop margin matches the training faces? Measured, not assumed.

FER2013 validation faces (PublicTest: selection data, never PrivateTest) are enlarged onto a larger canvas and
turned by a known angle; the full runtime (detector -> crop -> classifier) then reads them with and without
alignment and with several margins. The baseline is the same model on the untouched 48x48 crops.

    python bench/bench_alignment.py --store stores/fer2013.npz [--count 600] [--angles 0 15 30]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from ferkit.data import load_store
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions


def staged(face: np.ndarray, angle: float, scale: int = 3, canvas: int = 320) -> np.ndarray:
    """The 48x48 face enlarged, centred on a mid-grey canvas and turned by `angle` degrees."""
    big = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    image = np.full((canvas, canvas), 128, np.uint8)
    offset = (canvas - big.shape[0]) // 2
    image[offset:offset + big.shape[0], offset:offset + big.shape[1]] = big
    matrix = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), angle, 1.0)
    turned = cv2.warpAffine(image, matrix, (canvas, canvas), flags=cv2.INTER_LINEAR, borderValue=128)
    return cv2.cvtColor(turned, cv2.COLOR_GRAY2BGR)


def accuracy(analyzer: Analyzer, faces, labels, angle: float) -> tuple[float, float]:
    """(accuracy over all faces counting misses as wrong, share of faces detected)."""
    correct = found = 0
    for face, label in zip(faces, labels):
        result = analyzer.analyze(staged(face, angle))
        if result.faces:
            found += 1
            best = max(result.faces, key=lambda f: f.bbox[2] - f.bbox[0])
            correct += analyzer.classes.index(max(best.probabilities, key=best.probabilities.get)) == label
    return correct / len(faces), found / len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--angles", type=float, nargs="+", default=[0, 15, 30])
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3])
    parser.add_argument("--model")
    args = parser.parse_args()
    store = load_store(args.store).split("PublicTest")
    chosen = np.random.default_rng(0).choice(len(store), min(args.count, len(store)), replace=False)
    faces, labels = store.images[chosen], store.labels[chosen]
    direct = Analyzer(model=args.model).recognizer.predict_prepared(faces).argmax(1)
    print(f"{len(faces)} PublicTest faces; the model on the original 48x48 crops (baseline): {(direct == labels).mean():.4f}")
    print(f"{'margin':>7}{'align':>7}" + "".join(f"{f'{a:g} deg':>16}" for a in args.angles) + "   (accuracy, detected)")
    for margin in args.margins:
        for align in (False, True):
            analyzer = Analyzer(AnalyzerOptions(margin=margin, align=align), model=args.model)
            cells = [accuracy(analyzer, faces, labels, angle) for angle in args.angles]
            print(f"{margin:>7.2f}{str(align):>7}" + "".join(f"{acc:>9.4f} {seen:>5.2f}" for acc, seen in cells))


if __name__ == "__main__":
    main()
