"""Inference speed of registered network architectures, untrained: what a network would cost before training it.

Each is exported to ONNX (fp32) and run by onnxruntime at batch 64; the baseline, measured in the same run, is the
default model's architecture (resnet18_v2_half).

    python bench/bench_networks.py [--models resnet18_v2_half resnet18_v2_quarter] [--threads 2] [--seconds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ferkit.cpu import cpu_line
from ferkit.models import create_model
from ferkit.models.registry import get_spec, model_summary

BASELINE = "resnet18_v2_half"


def crops_per_second(name: str, folder: Path, threads: int, seconds: float, batch: int = 64) -> float:
    size = get_spec(name).input_size
    path = folder / f"{name}.onnx"
    torch.onnx.export(
        create_model(name).eval(),
        torch.zeros(1, 1, size, size),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "n"}},
        dynamo=False,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    pixels = np.random.default_rng(0).random((batch, 1, size, size), dtype=np.float32)
    for _ in range(3):
        session.run(None, {"x": pixels})
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.run(None, {"x": pixels})
        done += batch
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet18_v2_quarter"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(cpu_line())
    print(f"untrained fp32 ONNX, batch 64, {args.threads} threads")
    with tempfile.TemporaryDirectory() as folder:
        baseline = crops_per_second(BASELINE, Path(folder), args.threads, args.seconds)
        for name in [BASELINE, *[m for m in args.models if m != BASELINE]]:
            rate = baseline if name == BASELINE else crops_per_second(name, Path(folder), args.threads, args.seconds)
            mflops = model_summary(name)["mflops"]
            print(f"{name:<22} {mflops:7.1f} MFLOPs  {rate:7.0f} crops/s  ({rate / baseline:.2f}x {BASELINE})")


if __name__ == "__main__":
    main()
