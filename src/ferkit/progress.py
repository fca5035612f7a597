"""A dependency-free progress bar with rate and ETA, drawn on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

LOG_INTERVAL = 60.0  # seconds between the lines written to a stream that is not a terminal


class Progress:
    def __init__(
        self,
        total: int | None,
        desc: str = "",
        unit: str = "it",
        stream: TextIO | None = None,
        min_interval: float = 0.2,
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream or sys.stderr
        self.count = 0
        self.postfix = ""
        self.started = time.perf_counter()
        self._interactive = getattr(self.stream, "isatty", lambda: False)()
        # A log file gets a line a minute and one at the end instead of hundreds of carriage-return redraws.
        self._last_draw = self.started if not self._interactive else 0.0
        self._min_interval = min_interval if self._interactive else LOG_INTERVAL

    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.count += n
        if postfix is not None:
            self.postfix = postfix
        now = time.perf_counter()
        if now - self._last_draw >= self._min_interval:
            self._last_draw = now
            self._draw(end="\r" if self._interactive else "\n")

    def close(self) -> None:
        self._draw(end="\n")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _draw(self, end: str) -> None:
        elapsed = time.perf_counter() - self.started
        rate = self.count / elapsed if elapsed > 0 else 0.0
        if self.total:
            done = min(self.count / self.total, 1.0)
            bar = "#" * int(done * 24)
            eta = (self.total - self.count) / rate if rate > 0 else float("nan")
            text = f"{self.desc} [{bar:<24}] {self.count}/{self.total} {rate:,.1f} {self.unit}/s ETA {_clock(eta)}"
        else:
            text = f"{self.desc} {self.count} {rate:,.1f} {self.unit}/s"
        if self.postfix:
            text += f" {self.postfix}"
        clear_rest = "\x1b[K" if self._interactive else ""  # wipe what a longer previous line left
        self.stream.write(f"{text} elapsed {_clock(elapsed)}{clear_rest}{end}")
        self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"
