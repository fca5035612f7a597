"""Batch throughput: images/s for the local (process pool) and Ray engines on this machine.

Baseline measured in the same run: one process analysing the same photos in a plain loop.

    python bench/bench_batch.py [--images 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from ferkit.batch.run import run_batch
from ferkit.cpu import cpu_line
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.images import expand_inputs

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "photos"


def make_inputs(photos: Path, count: int, folder: Path) -> Path:
    sources = expand_inputs([str(photos)])
    inputs = folder / "inputs"
    inputs.mkdir()
    for index in range(count):
        source = sources[index % len(sources)]
        shutil.copy(source, inputs / f"{index:05d}{source.suffix}")
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=8, help="inputs per task (ferkit batch's default: 8)")
    args = parser.parse_args()
    print(cpu_line())
    with tempfile.TemporaryDirectory() as folder:
        inputs = make_inputs(args.photos, args.images, Path(folder))
        analyzer = Analyzer(AnalyzerOptions(threads=1))
        started = time.perf_counter()
        for path in sorted(inputs.iterdir()):
            analyzer.analyze_path(path)
        baseline = args.images / (time.perf_counter() - started)
        print(
            f"{args.images} photos (the shared samples, mostly 1-3 megapixels), {args.workers} workers, "
            f"{args.chunk} per task"
        )
        print(f"one process, plain loop (baseline)  {baseline:7.1f} images/s")
        rates: dict[str, float] = {}
        for engine in ("local", "ray"):
            start_up = start_ray(args.workers) if engine == "ray" else 0.0
            summary = run_batch(
                str(inputs),
                Path(folder) / f"{engine}.parquet",
                engine=engine,
                workers=args.workers,
                chunk=args.chunk,
                progress=False,
            )
            rate = summary.processed / (summary.seconds + start_up)
            print(
                f"ferkit batch --engine {engine:<6}        {rate:7.1f} images/s  ({rate / baseline:.2f}x the baseline, "
                f"start-up included)"
            )
            if engine == "ray":
                steady = summary.processed / summary.seconds
                print(
                    f"  of which ray.init {start_up:.1f} s; without it {steady:.1f} images/s "
                    f"({steady / baseline:.2f}x the baseline)"
                )
            rates[engine] = rate
        print(f"ray / local: {rates['ray'] / rates['local']:.2f}x")


def start_ray(workers: int) -> float:
    """Seconds to start a local Ray instance: timed apart from the run it serves."""
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="warning")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
