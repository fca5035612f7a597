"""Video speed and memory: where a frame's time goes (decode, detect, crop, classify, age, track, draw),
end-to-end frames/s on the sample clip with ferkit's defaults and with every stage on every frame, and resident
memory over a long input (the clip looped to --minutes) with per-frame results not kept.

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

from ferkit.cpu import cpu_line
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.draw import annotate
from ferkit.runtime.schedule import AGE_EVERY, DETECT_EVERY
from ferkit.runtime.tracking import IouTracker
from ferkit.runtime.video import analyze_video
from ferkit.views import VIEW_NAMES

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


def ms_per_frame(function, count: int) -> float:
    started = time.perf_counter()
    function()
    return 1000 * (time.perf_counter() - started) / count


def stage_breakdown(clip: Path, analyzer: Analyzer, frames: list, faces: list, crops: list) -> dict[str, float]:
    """Each stage timed alone over the whole clip, all faces of a frame in one call per model."""
    results = [analyzer.classify(f, found, ages=False) for f, found in zip(frames, faces)]
    tracker = IouTracker()
    count = len(frames)
    return {
        "decode (baseline)": ms_per_frame(lambda: frames_of(clip), count),
        "detect": ms_per_frame(lambda: [analyzer.detect(f) for f in frames], count),
        "crop + align": ms_per_frame(
            lambda: [analyzer.crops(f, found) for f, found in zip(frames, faces)], len(frames)
        ),
        "classify": ms_per_frame(lambda: [analyzer.emotions(c) for c in crops if c], count),
        "age": ms_per_frame(lambda: [analyzer.age_estimator.estimate(c) for c in crops if c], count),
        "track": ms_per_frame(lambda: [tracker.update([r.bbox for r in rs]) for rs in results], count),
        "draw": ms_per_frame(lambda: [annotate(f, rs) for f, rs in zip(frames, results)], count),
    }


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
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the looped memory run (0: none)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--views", choices=VIEW_NAMES, help="views per face (default: the model's own)")
    args = parser.parse_args()
    analyzer = Analyzer(AnalyzerOptions(threads=args.threads, views=args.views))
    print(cpu_line(args.threads or None))
    print(f"kernels: emotion {analyzer.recognizer.kernel}, age {analyzer.age_estimator.model.kernel}")
    frames = frames_of(args.clip)
    fps = cv2.VideoCapture(str(args.clip)).get(cv2.CAP_PROP_FPS)
    faces = [sorted(analyzer.detect(f), key=lambda face: face.bbox) for f in frames]
    crops = [analyzer.crops(f, found) for f, found in zip(frames, faces)]
    height, width = frames[0].shape[:2]
    print(f"{args.clip.name}: {len(frames)} frames {width}x{height}, {sum(map(len, faces))} faces")
    stage_ms = stage_breakdown(args.clip, analyzer, frames, faces, crops)
    print("where a frame's time goes when every stage runs on every frame (ms per frame):")
    for stage, ms in stage_ms.items():
        print(f"  {stage:<22}{ms:7.1f}")
    decode = 1000 / stage_ms["decode (baseline)"]
    every_frame = rate(
        lambda: analyze_video(str(args.clip), analyzer, progress=False, detect_every=1, age_every=0), len(frames)
    )
    end_to_end = rate(lambda: analyze_video(str(args.clip), analyzer, progress=False), len(frames))
    print(f"decode only (baseline)                  {decode:8.1f} frames/s")
    print(f"end to end, detector and age every frame {every_frame:7.1f} frames/s")
    print(
        f"end to end (ferkit video defaults: detector every {DETECT_EVERY} frames, age every {AGE_EVERY:g} s) "
        f"{end_to_end:.1f} frames/s ({end_to_end / every_frame:.2f}x every frame; aim >= 30)"
    )

    if args.minutes <= 0:
        return  # the speed figures only; the memory run needs a looped clip of some length
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
