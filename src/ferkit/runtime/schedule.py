"""How often the video path reruns its costly stages: a face's place changes little within a tenth of a second
and its age not at all within seconds. Dependency-free, so the CLI reads these defaults without loading OpenCV.

Measured by bench/bench_video.py on the shared clip (640x360, 2.3 faces per frame; AMD EPYC, AVX2 only, 2
threads, idle): with the detector on every frame and every face's age on every frame, 11.2 frames/s; detector
on every 3rd frame and a track's age once a second, 25.5 frames/s (2.28x), the same tracks and per-track
summaries (tests/runtime/test_video.py)."""

DETECT_EVERY = 3  # analysed frames per detector run; faces follow their tracks' motion in between
AGE_EVERY = 1.0  # seconds of video between a track's age estimates; the mean of the estimates is reported
