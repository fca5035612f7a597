"""Photo analysis speed on 640x480 photos with 1 to 4 faces: detector ms, classifier ms per face,
end-to-end images/s and cold start (new process to first result), for the default detector and model.

Baselines measured in the same run: a new Python process that only imports numpy and OpenCV (cold start),
and, where the `fer` package is installed (pip install fer), its FER(mtcnn=False) on the same photos.

    python bench/bench_analyze.py [--samples ../shared/data/samples] [--repeat 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.crop import crop_face

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


def cold_start(code: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fer_package_ms(photos: dict[int, np.ndarray], repeat: int) -> dict[int, float] | None:
    try:
        from fer import FER  # type: ignore
    except Exception:
        return None
    detector = FER(mtcnn=False)
    return {n: median_ms(lambda image=image: detector.detect_emotions(image), repeat) for n, image in photos.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    photos = test_photos(args.samples)
    analyzer = Analyzer(AnalyzerOptions(threads=args.threads))
    print(f"default setup: detector {analyzer.options.detector}, model {analyzer.recognizer.path.name}")
    print(f"{'faces':>5}{'found':>7}{'detect ms':>11}{'classify ms/face':>18}{'end-to-end ms':>15}{'images/s':>10}")
    rates = []
    for count, image in photos.items():
        faces = analyzer.detect(image)
        crops = [crop_face(image, face, analyzer.options.margin) for face in faces]
        detect = median_ms(lambda: analyzer.detect(image), args.repeat)
        classify = median_ms(lambda: analyzer.recognizer.predict_faces(crops), args.repeat) / max(len(crops), 1)
        total = median_ms(lambda: analyzer.analyze(image), args.repeat)
        rates.append(1000 / total)
        print(f"{count:>5}{len(faces):>7}{detect:>11.1f}{classify:>18.2f}{total:>15.1f}{1000 / total:>10.1f}")
    print(f"mean end-to-end: {statistics.mean(rates):.1f} images/s (aim >= 30)")

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        cv2.imwrite(str(photo), photos[2])
        baseline = cold_start("import numpy, cv2")
        ours = cold_start(f"from ferkit.runtime.analyzer import Analyzer; Analyzer().analyze_path({str(photo)!r})")
    print(f"cold start to first result: {ours:.2f} s (aim <= 1.5 s); bare 'import numpy, cv2': {baseline:.2f} s "
          f"({ours / baseline:.1f}x)")

    fer_ms = fer_package_ms(photos, max(args.repeat // 3, 3))
    if fer_ms is None:
        print("fer package: not installed here (pip install fer), no comparison")
    else:
        for count, ms in fer_ms.items():
            print(f"fer package, {count} face(s): {ms:.1f} ms/image ({1000 / ms:.1f} images/s)")


if __name__ == "__main__":
    main()
