"""Load on the service over loopback: requests/s, p50/p99 latency and errors for a 640x480 one-face photo,
then a check that every 2xx response has its row in the database. Bounded in requests and time.

Baseline measured in the same run: GET /healthz under the same load (the HTTP stack with no work).

    python bench/bench_service.py [--requests 300] [--concurrency 8] [--db sqlite|URL] [--seconds 120]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
from sqlalchemy import create_engine, func, select

from ferkit.service.db import Analysis

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "photos" / "obama_small.jpg"


def one_face_photo(path: Path) -> bytes:
    image = cv2.resize(cv2.imread(str(path)), (640, 480), interpolation=cv2.INTER_LINEAR)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def start_server(db_url: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "ferkit.cli", "serve", "--port", str(port), "--db", db_url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the service did not start: {process.stderr.read().decode()[-2000:]}")


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
    ordered = sorted(latencies)
    return {"rps": len(latencies) / elapsed, "p50": 1000 * statistics.median(ordered),
            "p99": 1000 * ordered[max(int(len(ordered) * 0.99) - 1, 0)], "errors": sum(not 200 <= s < 300 for s in statuses),
            "count": len(latencies), "ids": ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    photo = one_face_photo(args.photo)
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else args.db
        server = start_server(db_url, args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=args.concurrency)) as client:
                health = load(lambda: client.get("/healthz"), args.requests, args.concurrency, args.seconds)
                upload = load(lambda: client.post("/api/v1/analyses", files={"file": ("photo.jpg", photo, "image/jpeg")}),
                              args.requests, args.concurrency, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
        with create_engine(db_url).connect() as connection:
            stored = set(connection.scalars(select(Analysis.id)).all())
            rows = connection.scalar(select(func.count()).select_from(Analysis))
    lost = [i for i in upload["ids"] if i not in stored]
    print(f"database {db_url.split('@')[-1]}, {args.concurrency} concurrent clients, 640x480 one-face JPEG")
    for name, result in (("GET /healthz (baseline)", health), ("POST /api/v1/analyses", upload)):
        print(f"{name:<26} {result['count']:>5} requests {result['rps']:8.1f} req/s  p50 {result['p50']:7.1f} ms  "
              f"p99 {result['p99']:7.1f} ms  errors {result['errors']}")
    print(f"uploads at {upload['rps'] / health['rps']:.3f}x the baseline rate; aim >= 50 req/s, p99 <= 250 ms")
    print(f"2xx uploads {len(upload['ids'])}, rows in the database {rows}, lost rows {len(lost)}")


if __name__ == "__main__":
    main()
