"""Video speed and memory: end-to-end frames/s on the sample clip (and detector-only, classifier-only),
and resident memory over a long input (the clip looped to --minutes) with per-frame results not kept.

Baseline measured in the same run: decoding the clip's frames with OpenCV and nothing else.

    python bench/bench_video.py [--clip ../shared/data/samples/video/short_hamilton_clip.mp4] [--minutes 10]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import cv2

from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.crop import crop_face
from ferkit.runtime.video import analyze_video

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "video" / "short_hamilton_clip.mp4"


def frames_of(path: Path) -> list:
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def rate(function, count: int) -> float:
    started = time.perf_counter()
    function()
    return count / (time.perf_counter() - started)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def looped_clip(frames: list, fps: float, minutes: float, folder: Path) -> Path:
    path = folder / "looped.mp4"
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for index in range(int(minutes * 60 * fps)):
        writer.write(frames[index % len(frames)])
    writer.release()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    analyzer = Analyzer(AnalyzerOptions(threads=args.threads))
    frames = frames_of(args.clip)
    fps = cv2.VideoCapture(str(args.clip)).get(cv2.CAP_PROP_FPS)
    decode = rate(lambda: frames_of(args.clip), len(frames))
    detect = rate(lambda: [analyzer.detect(f) for f in frames], len(frames))
    crops = [crop_face(f, face, analyzer.options.margin) for f in frames for face in analyzer.detect(f)]
    classify = rate(lambda: [analyzer.recognizer.predict_faces([c]) for c in crops], len(crops))
    end_to_end = rate(lambda: analyze_video(str(args.clip), analyzer, progress=False), len(frames))
    print(f"{args.clip.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, {len(crops)} faces")
    print(f"decode only (baseline)     {decode:8.1f} frames/s")
    print(f"detector only              {detect:8.1f} frames/s")
    print(f"classifier only            {classify:8.1f} faces/s (one face per call)")
    print(f"end to end (ferkit video)  {end_to_end:8.1f} frames/s  ({end_to_end / decode:.2f}x decode; aim >= 30)")

    with tempfile.TemporaryDirectory() as folder:
        long_clip = looped_clip(frames, fps, args.minutes, Path(folder))
        samples, done = [], threading.Event()

        def sample() -> None:
            while not done.wait(2.0):
                samples.append(rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        before = rss_mb()
        sampler.start()
        started = time.perf_counter()
        result = analyze_video(
            str(long_clip), analyzer, csv_path=str(Path(folder) / "rows.csv"), progress=False, keep_frames=False
        )
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    third = max(len(samples) // 3, 1)
    early, late = max(samples[:third]), max(samples[-third:])
    print(
        f"{args.minutes:g} min looped ({result.frames_read} frames, {result.frames_read / seconds:.1f} frames/s): "
        f"RSS {before:.0f} MB before, peak {early:.0f} MB in the first third, {late:.0f} MB in the last third "
        f"(growth {late - early:+.0f} MB)"
    )


if __name__ == "__main__":
    main()
