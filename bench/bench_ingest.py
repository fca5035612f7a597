"""Ingest of the FER2013 image release and load of the store it writes.

Baselines measured in the same run: a bare loop that only un-tars and decodes every JPEG (the least
any ingest must do), and that same decode standing in for "no store" when loading.

    python bench/bench_ingest.py [--source ../shared/data/fer2013-images.tar.gz] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ferkit.cpu import cpu_line
from ferkit.data import load_store, prepare

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013-images.tar.gz"


def bare_decode(source: Path) -> int:
    count = 0
    with tarfile.open(source) as archive:
        for member in archive:
            if member.isfile():
                data = np.frombuffer(archive.extractfile(member).read(), np.uint8)
                count += cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) is not None
    return count


def timed(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(cpu_line())
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "fer2013.npz"
        baseline = timed(lambda: bare_decode(args.source), args.repeat)
        ingest = timed(lambda: prepare(args.source, out, force=True), args.repeat)
        load = timed(lambda: load_store(out).images.sum(), max(args.repeat, 5))
        size_mb = out.stat().st_size / 1e6
        images = len(load_store(out))
    print(f"source: {args.source} ({images:,} images), median of {args.repeat} runs")
    print(f"bare un-tar + decode (baseline): {baseline:6.2f} s")
    print(f"ferkit data prepare:             {ingest:6.2f} s  ({ingest / baseline:.2f}x the baseline; aim < 60 s)")
    print(
        f"store load ({size_mb:.0f} MB .npz):         {load:6.3f} s  "
        f"({baseline / load:.0f}x faster than decoding again; aim < 1 s)"
    )


if __name__ == "__main__":
    main()
