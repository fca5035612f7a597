"""Load on the service over loopback. Bounded in requests and time; the server is a child process.

Throughput (default): requests/s and p50/p99 latency for a 640x480 one-face photo at N clients, a liveness probe
timed while the uploads run, then a check that every 2xx upload has its row. Baseline measured in the same run:
GET /healthz under the same load (the HTTP stack with no work).

Flood (--flood): N clients (64) upload a maximum-pixel photo at once: the server's peak memory, how every
request ended (201 or 503 with Retry-After, none left waiting), and the probe's latency meanwhile.

Hostile (--hostile): the second audit's attacks at once against one server with its defaults: 1,000 idle
sockets, 300 half-sent headers, 100 multipart bodies stalled after 1 MiB, 4 progressive-JPEG scan bombs and 2
photos tiled with 1,764 faces, while ordinary uploads go on: how each ended, the probe's p95, peak memory, and
acknowledged uploads against stored rows.

    python bench/bench_service.py [--requests 300] [--concurrency 8] [--db sqlite|URL] [--seconds 120]
    python bench/bench_service.py --flood [--concurrency 64]
    python bench/bench_service.py --hostile
"""

from __future__ import annotations

import argparse
import resource
import socket
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
HELD_SECONDS = 65  # how long --hostile holds its idle and stalled connections: past the 60 s body deadline


def one_face_photo(path: Path) -> bytes:
    image = cv2.resize(cv2.imread(str(path)), (640, 480), interpolation=cv2.INTER_LINEAR)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def maximum_pixel_photo(path: Path) -> bytes:
    """A face on a flat 6300x6300 canvas: a small PNG file that decodes to 119 MB."""
    canvas = np.full((MAX_PIXELS_SIDE, MAX_PIXELS_SIDE, 3), 200, np.uint8)
    face = cv2.imread(str(path))
    canvas[: face.shape[0], : face.shape[1]] = face
    return cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def scan_bomb(repeats: int = 3000) -> bytes:
    """The audit's attack: a progressive 2000x2000 JPEG whose last scan is repeated before the end marker (66 KB
    that took 30 s to decode before the scan count was bounded)."""
    image = np.full((2000, 2000, 3), 128, np.uint8)
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    last_scan = data.rindex(b"\xff\xda")
    return data[:-2] + data[last_scan:-2] * repeats + b"\xff\xd9"


def crowd_photo(path: Path, faces_per_side: int = 42) -> bytes:
    """The audit's 1,764-face photo: one face tiled 42 x 42."""
    face = cv2.resize(cv2.imread(str(path)), (96, 96), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", np.tile(face, (faces_per_side, faces_per_side, 1)))[1].tobytes()


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

    def p95(self) -> float:
        return percentile(self.latencies, 0.95)

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


class Sockets:
    """Raw connections that send a given prefix and then nothing, held open until closed: what idle, slow or
    stalled clients cost the server. Counts those the server closed meanwhile."""

    def __init__(self, port: int, count: int, prefix: bytes = b""):
        self.open: list[socket.socket] = []
        for _ in range(count):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                if prefix:
                    connection.sendall(prefix)
                self.open.append(connection)
            except OSError:
                break  # refused or out of descriptors: counted as not opened

    def ended_by_server(self) -> Counter:
        """How the server ended each held connection: "closed", an answer's status ("408"), or "open"."""
        ended: Counter = Counter()
        for connection in self.open:
            connection.setblocking(False)
            try:
                first = connection.recv(64, socket.MSG_PEEK)
                ended[first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"] += 1
            except BlockingIOError:
                ended["open"] += 1
            except OSError:
                ended["closed"] += 1
        return ended

    def close(self) -> None:
        for connection in self.open:
            connection.close()


def stalled_multipart(port: int, sent_bytes: int = 1 << 20) -> bytes:
    """A 10 MiB multipart upload's headers and its first `sent_bytes`, never the rest or the closing boundary."""
    head = (
        f"POST /api/v1/analyses HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; "
        f'boundary=x\r\nContent-Length: {10 << 20}\r\n\r\n--x\r\nContent-Disposition: form-data; name="file"; '
        'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    return head + b"\xff" * sent_bytes


def hostile(args, base: str, server: subprocess.Popen) -> dict:
    """Every attack of the second audit at once, with ordinary uploads going on beside them."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    watch, probe = MemoryWatch(server.pid), Probe(base)
    idle_mb = watch.read("VmRSS")
    watch.start()
    probe.start()
    started = time.perf_counter()
    idle = Sockets(args.port, 1000)
    half_headers = Sockets(args.port, 300, b"POST /api/v1/analyses HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    stalled = Sockets(args.port, 100, stalled_multipart(args.port))
    print(
        f"held: {len(idle.open)} idle sockets, {len(half_headers.open)} half-sent headers, "
        f"{len(stalled.open)} stalled bodies"
    )
    photo, bomb, crowd = one_face_photo(args.photo), scan_bomb(), crowd_photo(args.photo)
    with httpx.Client(base_url=base, timeout=120) as client, ThreadPoolExecutor(8) as pool:
        attacks = {
            "scan bomb": [pool.submit(timed_upload, client, bomb, "bomb.jpg") for _ in range(4)],
            "1,764-face photo": [pool.submit(timed_upload, client, crowd, "crowd.jpg") for _ in range(2)],
        }
        ordinary = load(
            lambda: client.post("/api/v1/analyses", files={"file": ("photo.jpg", photo, "image/jpeg")}),
            args.requests,
            2,
            args.seconds,
        )
        for name, futures in attacks.items():
            answers = [future.result() for future in futures]
            statuses = Counter(status for status, _, _ in answers)
            slowest = max(seconds for _, seconds, _ in answers)
            detail = {note for _, _, note in answers if note}
            print(f"{name:<18} answers {dict(statuses)}, slowest {slowest:.1f} s {'; '.join(sorted(detail))}")
    # Past the service's default header (10 s) and body (60 s) deadlines: every held connection should be closed.
    time.sleep(max(0.0, HELD_SECONDS - (time.perf_counter() - started)))
    print(
        f"ended by the server after {time.perf_counter() - started:.0f} s: "
        f"idle sockets {dict(idle.ended_by_server())}, "
        f"half-sent headers {dict(half_headers.ended_by_server())}, stalled bodies {dict(stalled.ended_by_server())}"
    )
    for held in (idle, half_headers, stalled):
        held.close()
    peak_mb, high_water_mb = watch.finish()
    print(
        f"ordinary uploads meanwhile: {ordinary['count']} requests, "
        f"answers {dict(sorted(ordinary['statuses'].items()))}, "
        f"p50 {ordinary['p50']:.0f} ms, p99 {ordinary['p99']:.0f} ms"
    )
    print(
        f"server memory: {idle_mb:.0f} MB idle, peak {peak_mb:.0f} MB sampled, {high_water_mb:.0f} MB high-water mark "
        f"(aim <= 1536 MB: {'met' if high_water_mb <= 1536 else 'NOT met'})"
    )
    print(probe.summary() + f" (aim p95 < 100 ms: {'met' if probe.p95() < 100 else 'NOT met'})")
    print("the database also holds the 1,764-face photos' analyses, beside the ordinary uploads checked below")
    return ordinary


def timed_upload(client: httpx.Client, data: bytes, name: str) -> tuple[int, float, str]:
    """(status, seconds, what the answer says: the reason of a refusal, or faces kept and dropped)."""
    started = time.perf_counter()
    try:
        response = client.post("/api/v1/analyses", files={"file": (name, data, "image/jpeg")})
    except httpx.HTTPError as error:
        return 0, time.perf_counter() - started, type(error).__name__
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    note = f"{len(body['faces'])} faces kept, {body['faces_dropped']} dropped" if "faces" in body else ""
    return response.status_code, time.perf_counter() - started, note or str(body.get("detail", ""))[:80]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--flood", action="store_true", help="64 maximum-pixel uploads at once: memory and answers")
    parser.add_argument("--hostile", action="store_true", help="the audit's attacks at once beside ordinary uploads")
    args = parser.parse_args()
    args.concurrency = args.concurrency or (64 if args.flood else 8)
    if args.hostile and args.requests == 300:
        args.requests = 60  # ordinary uploads beside the attacks, two at a time
    print(cpu_line())
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else args.db
        print(f"database {db_url.split('@')[-1]}, {args.concurrency} concurrent clients")
        server = start_server(db_url, args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            if args.hostile:
                result = hostile(args, base, server)
            elif args.flood:
                result = flood(args, base, server)
            else:
                result = throughput(args, base, one_face_photo(args.photo))
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
