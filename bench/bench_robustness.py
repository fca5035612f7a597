"""How much accuracy a model keeps under the shifts a detector's crop and a web photo bring: scale, offset,
roll, blur, JPEG quality and low resolution, applied to PrivateTest faces. Baseline in the same run: the
clean faces through the same path (the runtime's: each crop equalised and resized as `ferkit analyze` does).

    python bench/bench_robustness.py --store stores/fer2013.npz [--model fer2013-int8 ...] [--plot robustness.png]

Nothing here tunes a model: it says which shifts cost most, to decide what to train for (choose among
candidates with --split PublicTest; PrivateTest is for the report).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ferkit.calibration import reliability
from ferkit.cpu import cpu_line
from ferkit.data import load_store
from ferkit.labels import in_classes
from ferkit.runtime.shipped import load_emotion_model

Shift = Callable[[np.ndarray], np.ndarray]


def affine(face: np.ndarray, scale: float = 1.0, dx: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """Re-crop a face as a detector box that is larger (scale < 1 shows more around the face), off-centre
    (dx, a share of the side) or rolled (degrees); the border is mirrored, as photos have surroundings."""
    size = face.shape[0]
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[0, 2] += dx * size
    return cv2.warpAffine(face, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def jpeg(face: np.ndarray, quality: int) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)


def low_resolution(face: np.ndarray, side: int) -> np.ndarray:
    small = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, face.shape[::-1], interpolation=cv2.INTER_LINEAR)


SHIFTS: dict[str, Shift] = {
    "zoom out 0.8 (wider box)": lambda f: affine(f, scale=0.8),
    "zoom in 1.2 (tighter box)": lambda f: affine(f, scale=1.2),
    "offset 10%": lambda f: affine(f, dx=0.10),
    "offset 20%": lambda f: affine(f, dx=0.20),
    "roll 15 deg": lambda f: affine(f, angle=15),
    "roll 30 deg": lambda f: affine(f, angle=30),
    "blur sigma 1": lambda f: cv2.GaussianBlur(f, (0, 0), 1.0),
    "blur sigma 2": lambda f: cv2.GaussianBlur(f, (0, 0), 2.0),
    "JPEG quality 30": lambda f: jpeg(f, 30),
    "JPEG quality 10": lambda f: jpeg(f, 10),
    "24 px source": lambda f: low_resolution(f, 24),
    "16 px source": lambda f: low_resolution(f, 16),
}


def accuracy_and_ece(model, faces: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> tuple[float, float]:
    """Read in the store's classes (a FER+ model on FER2013's faces answers among FER2013's seven), with the
    model's calibration: does a blurred face get a less sure answer, or only a wronger one?"""
    probabilities = np.concatenate([model.predict_faces(list(faces[i : i + 512])) for i in range(0, len(faces), 512)])
    probabilities = in_classes(probabilities, tuple(model.classes), classes)
    return float((probabilities.argmax(1) == labels).mean()), reliability(probabilities, labels).ece


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a FER2013 or FER+ store (its PrivateTest split is used)")
    parser.add_argument(
        "--model", action="append", help="shipped name or file; repeatable (default: the default model)"
    )
    parser.add_argument("--split", default="PrivateTest")
    parser.add_argument("--plot", type=Path, help="write a bar chart of each shift's accuracy drop")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: one per core)")
    args = parser.parse_args()
    print(cpu_line())
    store = load_store(args.store)
    classes = tuple(store.classes)
    part = store.split(args.split)
    part = part.subset(part.labels >= 0)
    faces, labels = part.images, part.labels.astype(int)
    print(f"{args.split}: {len(labels)} faces of {args.store}")
    drops: dict[str, dict[str, float]] = {}
    for name in args.model or [None]:
        model = load_emotion_model(name, threads=args.threads)
        started = time.perf_counter()
        clean, clean_ece = accuracy_and_ece(model, faces, labels, classes)
        label = name or "default"
        print(f"\n{label}: clean {clean:.4f}  ECE {clean_ece:.3f}")
        drops[label] = {}
        for shift, apply in SHIFTS.items():
            shifted, ece = accuracy_and_ece(model, np.stack([apply(face) for face in faces]), labels, classes)
            drops[label][shift] = clean - shifted
            print(f"  {shift:<28} {shifted:.4f}  drop {100 * (clean - shifted):5.1f} points  ECE {ece:.3f}")
        # One figure per model to compare candidates by (issue 41 chose among them on it).
        mean_drop = float(np.mean(list(drops[label].values())))
        mean_label = f"mean over the {len(SHIFTS)} shifts"
        print(f"  {mean_label:<28} {clean - mean_drop:.4f}  drop {100 * mean_drop:5.1f} points")
        print(f"  ({time.perf_counter() - started:.0f} s)")
    if args.plot:
        plot(drops, args.plot, f"{args.split} accuracy lost per shift")
        print(f"wrote {args.plot}")


def plot(drops: dict[str, dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shifts = list(SHIFTS)
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(shifts) * len(drops) + 1.5))
    height = 0.8 / len(drops)
    for index, (model, values) in enumerate(drops.items()):
        positions = np.arange(len(shifts)) + index * height
        axes.barh(positions, [100 * values[s] for s in shifts], height, label=model)
    axes.set_yticks(np.arange(len(shifts)) + 0.4 - height / 2, shifts)
    axes.invert_yaxis()
    axes.set(xlabel="accuracy drop against clean faces (points)", title=title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
