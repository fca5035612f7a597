"""Emotion classifier throughput on onnxruntime (face crops/s at batch 1 and batch 64) for the shipped
model(s), against the `fer` package's classifier measured in the same run where it installs (fer needs
TensorFlow: pass the python of its own environment with --fer-python).

    python bench/bench_classifier.py [--models fer2013-int8 mine.onnx ens.json] [--seconds 5] [--threads 2]
        [--fer-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from ferkit.cpu import cpu_line
from ferkit.runtime.shipped import load_emotion_model, shipped_emotion_models
from ferkit.runtime.speed import crops_per_second

FER_TIMER = """
import json, sys, time
import numpy as np
try:
    from fer import FER
except ImportError:  # fer 25 moved the class
    from fer.fer import FER
detector = FER(mtcnn=False)
rates = []
for batch in (1, 64):
    crops = np.random.default_rng(0).uniform(-1, 1, (batch, 64, 64)).astype(np.float32)  # fer's preprocessed input
    detector._classify_emotions(crops)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < float(sys.argv[1]):
        detector._classify_emotions(crops)
        done += batch
    rates.append(done / (time.perf_counter() - started))
print(json.dumps(rates))
"""


def fer_package_rates(python: str, seconds: float) -> list[float] | None:
    done = subprocess.run([python, "-c", FER_TIMER, str(seconds)], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"fer package: failed to run ({done.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="*",
        default=shipped_emotion_models(),
        help="shipped model names, ONNX files or ensemble manifests (default: every shipped model)",
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--fer-python", help="python of an environment where `pip install fer` worked")
    args = parser.parse_args()
    print(cpu_line(args.threads or None))
    print(f"{'model':<34}{'batch 1 crops/s':>17}{'batch 64 crops/s':>18}")
    baseline_rates = fer_package_rates(args.fer_python, args.seconds) if args.fer_python else None
    if baseline_rates:
        print(f"{'fer package (baseline)':<34}{baseline_rates[0]:>17.0f}{baseline_rates[1]:>18.0f}")
    for model in args.models:
        recognizer = load_emotion_model(model, threads=args.threads)
        rates = [crops_per_second(recognizer.predict_prepared, b, args.seconds, recognizer.image_size) for b in (1, 64)]
        ratio = (
            f"  ({rates[0] / baseline_rates[0]:.1f}x / {rates[1] / baseline_rates[1]:.1f}x fer)"
            if baseline_rates
            else ""
        )
        print(f"{Path(model).name:<34}{rates[0]:>17.0f}{rates[1]:>18.0f}{ratio}  [{recognizer.kernel}]")
    if not baseline_rates:
        print("fer package: no comparison (give --fer-python); aim >= 1,000 crops/s at batch 64")


if __name__ == "__main__":
    main()
