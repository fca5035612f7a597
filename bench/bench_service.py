"""Load on the service over loopback. Bounded in requests and time; the server is a child process.

Throughput (default): requests/s and p50/p99 latency for a 640x480 one-face photo at N clients, a liveness probe
timed while the uploads run, then a check that every 2xx upload has its row. Baseline measured in the same run:
GET /healthz under the same load (the HTTP stack with no work).

Flood (--flood): N clients (64) upload a maximum-pixel photo at once: the server's peak memory, how every
request ended (201 or 503 with Retry-After, none left waiting), and the probe's latency meanwhile.

    python bench/bench_service.py [--requests 300] [--concurrency 8] [--db sqlite|URL] [--seconds 120]
    python bench/bench_service.py --flood [--concurrency 64]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np
from sqlalchemy import create_engine, func, select

from ferkit.cpu import cpu_line
from ferkit.service.db import Analysis

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "photos" / "obama_small.jpg"
MAX_PIXELS_SIDE = 6300  # 39.7 megapixels: just under the service's 40-megapixel default


def one_face_photo(path: Path) -> bytes:
    image = cv2.resize(cv2.imread(str(path)), (640, 480), interpolation=cv2.INTER_LINEAR)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def maximum_pixel_photo(path: Path) -> bytes:
    """A face on a flat 6300x6300 canvas: a small PNG file that decodes to 119 MB."""
    canvas = np.full((MAX_PIXELS_SIDE, MAX_PIXELS_SIDE, 3), 200, np.uint8)
    face = cv2.imread(str(path))
    canvas[: face.shape[0], : face.shape[1]] = face
    return cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def start_server(db_url: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "ferkit.cli", "serve", "--port", str(port), "--db", db_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the service did not start: {process.stderr.read().decode()[-2000:]}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share) - 1, 0)] if ordered else float("nan")


def load(send, requests: int, concurrency: int, seconds: float) -> dict:
    latencies, statuses, ids, lock = [], [], [], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def one(_):
        if time.perf_counter() > stop_at:
            return
        started = time.perf_counter()
        try:
            response = send()
            status = response.status_code
            created = response.json().get("id") if status == 201 else None
        except httpx.HTTPError:
            status, created = 0, None
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses.append(status)
            if created:
                ids.append(created)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * percentile(latencies, 0.99),
        "max": 1000 * max(latencies),
        "errors": sum(not 200 <= s < 300 for s in statuses),
        "statuses": Counter(statuses),
        "count": len(latencies),
        "ids": ids,
    }


class Probe(threading.Thread):
    """GET /healthz every 100 ms on its own connection while a load runs: what a liveness check would see."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.latencies, self.stopped = base, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stopped.wait(0.1):
                started = time.perf_counter()
                client.get("/healthz")
                self.latencies.append(1000 * (time.perf_counter() - started))

    def summary(self) -> str:
        self.stopped.set()
        self.join()
        return (
            f"GET /healthz during the load: {len(self.latencies)} probes, "
            f"p50 {statistics.median(self.latencies):.1f} ms, "
            f"p95 {percentile(self.latencies, 0.95):.1f} ms, max {max(self.latencies):.1f} ms"
        )


class MemoryWatch(threading.Thread):
    """The server process's resident memory, sampled every 20 ms, and the kernel's high-water mark."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.peak_mb = 0.0
        self.stopped = threading.Event()

    def read(self, field: str) -> float:
        line = next(line for line in self.status.read_text().splitlines() if line.startswith(field))
        return int(line.split()[1]) / 1024

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.peak_mb = max(self.peak_mb, self.read("VmRSS"))

    def finish(self) -> tuple[float, float]:
        self.stopped.set()
        self.join()
        return self.peak_mb, self.read("VmHWM")


def throughput(args, base: str, photo: bytes) -> dict:
    with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=args.concurrency)) as client:
        health = load(lambda: client.get("/healthz"), args.requests, args.concurrency, args.seconds)
        probe = Probe(base)
        probe.start()
        upload = load(
            lambda: client.post("/api/v1/analyses", files={"file": ("photo.jpg", photo, "image/jpeg")}),
            args.requests,
            args.concurrency,
            args.seconds,
        )
    for name, result in (("GET /healthz (baseline)", health), ("POST /api/v1/analyses", upload)):
        print(
            f"{name:<26} {result['count']:>5} requests {result['rps']:8.1f} req/s  p50 {result['p50']:7.1f} ms  "
            f"p99 {result['p99']:7.1f} ms  errors {result['errors']}"
        )
    print(probe.summary())
    print(f"uploads at {upload['rps'] / health['rps']:.3f}x the baseline rate; aim >= 50 req/s, p99 <= 250 ms")
    return upload


def flood(args, base: str, server: subprocess.Popen) -> dict:
    photo = maximum_pixel_photo(args.photo)
    print(
        f"{args.concurrency} clients at once, "
        f"each a {MAX_PIXELS_SIDE}x{MAX_PIXELS_SIDE} PNG of {len(photo) / 1024:.0f} KiB"
    )
    watch, probe = MemoryWatch(server.pid), Probe(base)
    idle_mb = watch.read("VmRSS")
    watch.start()
    probe.start()
    with httpx.Client(base_url=base, timeout=120, limits=httpx.Limits(max_connections=args.concurrency)) as client:
        result = load(
            lambda: client.post("/api/v1/analyses", files={"file": ("big.png", photo, "image/png")}),
            args.concurrency,
            args.concurrency,
            args.seconds,
        )
    peak_mb, high_water_mb = watch.finish()
    print(f"answers {dict(sorted(result['statuses'].items()))} (0 = no answer); slowest {result['max'] / 1000:.1f} s")
    print(
        f"server memory: {idle_mb:.0f} MB idle, peak {peak_mb:.0f} MB sampled, {high_water_mb:.0f} MB high-water mark "
        f"(aim <= 1536 MB: {'met' if high_water_mb <= 1536 else 'NOT met'})"
    )
    print(probe.summary())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--flood", action="store_true", help="64 maximum-pixel uploads at once: memory and answers")
    args = parser.parse_args()
    args.concurrency = args.concurrency or (64 if args.flood else 8)
    print(cpu_line())
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else args.db
        print(f"database {db_url.split('@')[-1]}, {args.concurrency} concurrent clients")
        server = start_server(db_url, args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            result = flood(args, base, server) if args.flood else throughput(args, base, one_face_photo(args.photo))
        finally:
            server.terminate()
            server.wait(timeout=30)
        with create_engine(db_url).connect() as connection:
            stored = set(connection.scalars(select(Analysis.public_id)).all())
            rows = connection.scalar(select(func.count()).select_from(Analysis))
    lost = [i for i in result["ids"] if i not in stored]
    print(f"2xx uploads {len(result['ids'])}, rows in the database {rows}, lost rows {len(lost)}")


if __name__ == "__main__":
    main()
