"""Photo analysis speed on 640x480 photos with 1 to 4 faces: where a photo's time goes (decode, detect, crop,
classify, age, draw, JSON), end-to-end images/s and cold start (new process to first result), for the default
detector and model, with the CPU and the kernels that ran.

Baselines measured in the same run: a new Python process that only imports numpy and OpenCV (cold start),
and, where the `fer` package installs, its FER(mtcnn=False) on the same photos. fer needs TensorFlow, so it
usually lives in an environment of its own: pass that environment's python with --fer-python.

    python bench/bench_analyze.py [--samples ../shared/data/samples] [--repeat 30] [--fer-python PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ferkit.cpu import cpu_line
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.draw import annotate
from ferkit.views import VIEW_NAMES

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"


def test_photos(samples: Path) -> dict[int, np.ndarray]:
    """640x480 photos with 1, 2, 3 and 4 faces made from the shared sample photos."""
    photos = samples / "photos"
    fit = lambda name: cv2.resize(cv2.imread(str(photos / name)), (640, 480), interpolation=cv2.INTER_AREA)  # noqa: E731
    one = fit("obama_small.jpg")
    small = cv2.resize(one, (320, 240), interpolation=cv2.INTER_AREA)
    return {1: one, 2: fit("two_people.jpg"), 3: fit("obama_and_biden.jpg"), 4: np.vstack([np.hstack([small] * 2)] * 2)}


def median_ms(function, repeat: int) -> float:
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def stage_ms(analyzer: Analyzer, image: np.ndarray, repeat: int) -> dict[str, float]:
    encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1]
    faces = analyzer.detect(image)
    crops = analyzer.crops(image, faces)
    result = analyzer.analyze(image)
    return {
        "decode": median_ms(lambda: cv2.imdecode(encoded, cv2.IMREAD_COLOR), repeat),
        "detect": median_ms(lambda: analyzer.detect(image), repeat),
        "crop": median_ms(lambda: analyzer.crops(image, faces), repeat),
        "classify": median_ms(lambda: analyzer.emotions(crops), repeat),
        "age": median_ms(lambda: analyzer.age_estimator.estimate(crops), repeat),
        "draw": median_ms(lambda: annotate(image, result.faces), repeat),
        "json": median_ms(lambda: json.dumps(result.to_dict()), repeat),
    }


def cold_start(code: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


FER_TIMER = """
import json, statistics, sys, time, cv2
try:
    from fer import FER
except ImportError:  # fer 25 moved the class
    from fer.fer import FER
detector = FER(mtcnn=False)
result = {}
for path in sys.argv[2:]:
    image = cv2.imread(path)
    detector.detect_emotions(image)
    times = []
    for _ in range(int(sys.argv[1])):
        started = time.perf_counter()
        faces = detector.detect_emotions(image)
        times.append(time.perf_counter() - started)
    result[path] = [1000 * statistics.median(times), len(faces)]
print(json.dumps(result))
"""


def fer_package_ms(photos: dict[int, np.ndarray], repeat: int, python: str) -> dict[int, tuple[float, int]] | None:
    """fer's detect_emotions on the same photos, timed inside its own interpreter."""
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for count, image in photos.items():
            paths[count] = str(Path(folder) / f"{count}.png")
            cv2.imwrite(paths[count], image)
        done = subprocess.run([python, "-c", FER_TIMER, str(repeat), *paths.values()], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"fer package: failed to run ({done.stderr.strip().splitlines()[-1:]})")
            return None
        timings = json.loads(done.stdout.strip().splitlines()[-1])
        return {count: tuple(timings[path]) for count, path in paths.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--views", choices=VIEW_NAMES, help="views per face (default: the model's own)")
    parser.add_argument("--model", help="a shipped emotion model's name or a file (default: ferkit's default)")
    parser.add_argument("--fer-python", help="python of an environment where `pip install fer` worked")
    args = parser.parse_args()
    photos = test_photos(args.samples)
    analyzer = Analyzer(AnalyzerOptions(threads=args.threads, views=args.views), model=args.model)
    print(cpu_line(args.threads or None))
    print(
        f"default setup: detector {analyzer.options.detector}, model {analyzer.recognizer.path.name} "
        f"({analyzer.recognizer.kernel}), age {analyzer.age_estimator.model.kernel}"
    )
    print("ms per photo, each stage timed alone (decode: JPEG q95; draw and JSON: what `ferkit analyze --out` adds)")
    stages = ("decode", "detect", "crop", "classify", "age", "draw", "json")
    print(f"{'faces':>5}{'found':>6}" + "".join(f"{s:>9}" for s in stages) + f"{'analyze':>9}{'images/s':>10}")
    rates = []
    for count, image in photos.items():
        timings = stage_ms(analyzer, image, args.repeat)
        total = median_ms(lambda image=image: analyzer.analyze(image), args.repeat)
        rates.append(1000 / total)
        found = len(analyzer.detect(image))
        print(
            f"{count:>5}{found:>6}"
            + "".join(f"{timings[s]:>9.1f}" for s in stages)
            + f"{total:>9.1f}{1000 / total:>10.1f}"
        )
    print(f"mean end-to-end (analyze): {statistics.mean(rates):.1f} images/s (aim >= 30)")

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        cv2.imwrite(str(photo), photos[2])
        baseline = cold_start("import numpy, cv2")
        ours = cold_start(f"from ferkit.runtime.analyzer import Analyzer; Analyzer().analyze_path({str(photo)!r})")
    print(
        f"cold start to first result: {ours:.2f} s (aim <= 1.5 s); bare 'import numpy, cv2': {baseline:.2f} s "
        f"({ours / baseline:.1f}x)"
    )

    if not args.fer_python:
        print("fer package: no --fer-python given, no comparison")
        return
    fer_ms = fer_package_ms(photos, max(args.repeat // 3, 3), args.fer_python)
    for count, (ms, found) in (fer_ms or {}).items():
        ours = 1000 / rates[count - 1]
        print(
            f"fer package, {count} face(s): found {found}, {ms:.1f} ms/image ({1000 / ms:.1f} images/s); "
            f"ferkit is {ms / ours:.1f}x faster"
        )


if __name__ == "__main__":
    main()
