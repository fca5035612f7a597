"""Analyzers lent out one request at a time, and a bounded line of requests waiting for one.

An upload is decoded only once it holds an analysis slot, so at most `workers` decoded photos exist at once
(a 40-megapixel photo is 120 MB decoded), and a request that finds the line full is answered 503 at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ferkit.errors import FerkitError
from ferkit.runtime.age import AgeEstimator
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.detectors import DEFAULT_DETECTOR
from ferkit.runtime.shipped import AGE_MODEL, emotion_model_path, load_emotion_model
from ferkit.views import Views


class ServiceBusy(FerkitError):
    """Every analyzer is busy and the line of waiting requests is full (or the wait ran out)."""

    retry_after_seconds = 2


class AnalyzerPool:
    """`workers` analysis slots shared by every detector; each detector's analyzers are loaded once, under a lock,
    at start (`preload`) or on first use, and all of them share one emotion model and one age model."""

    def __init__(
        self,
        model: str | None,
        workers: int,
        *,
        max_waiting: int = 64,
        max_waiting_bytes: int = 256 << 20,
        wait_seconds: float = 30.0,
        max_faces: int = AnalyzerOptions.max_faces,
        detect_size: int = AnalyzerOptions.detect_size,
        preload: tuple[str, ...] = (DEFAULT_DETECTOR,),
    ):
        self.recognizer = load_emotion_model(emotion_model_path(model), threads=1)
        self.age_estimator = AgeEstimator(AGE_MODEL, threads=1) if AGE_MODEL.is_file() else None
        self.model_version = self.recognizer.card.version
        self.workers = workers
        self.max_waiting = max_waiting
        self.max_waiting_bytes = max_waiting_bytes
        self.wait_seconds = wait_seconds
        self.max_faces = max_faces
        self.detect_size = detect_size
        self._slots = threading.BoundedSemaphore(workers)
        self._count_lock = threading.Lock()
        self._queued = 0  # requests admitted: waiting for a slot or holding one
        self._queued_bytes = 0  # and the bytes of their uploads, which they hold in memory meanwhile
        self._load_lock = threading.Lock()
        self._analyzers: dict[tuple[str, Views], queue.SimpleQueue[Analyzer]] = {}
        self.views = self.recognizer.card.views  # what an upload that names no views is analysed on
        for detector in preload:
            self._analyzer_pool(detector, self.views)

    @property
    def loaded_detectors(self) -> list[str]:
        return sorted({detector for detector, _ in self._analyzers})

    def _analyzer_pool(self, detector: str, views: Views) -> queue.SimpleQueue[Analyzer]:
        with self._load_lock:
            if (detector, views) not in self._analyzers:
                pool: queue.SimpleQueue[Analyzer] = queue.SimpleQueue()
                for _ in range(self.workers):
                    options = AnalyzerOptions(
                        detector=detector,
                        views=views,
                        threads=1,
                        max_faces=self.max_faces,
                        detect_size=self.detect_size,
                    )
                    pool.put(Analyzer(options, recognizer=self.recognizer, age_estimator=self.age_estimator))
                self._analyzers[detector, views] = pool
            return self._analyzers[detector, views]

    @contextmanager
    def admitted(self, upload_bytes: int = 0) -> Iterator[None]:
        """A place in line, taken before an upload is read into memory: refused at once (ServiceBusy) when
        `max_waiting` requests or `max_waiting_bytes` of uploads are already in line."""
        with self._count_lock:
            if (
                self._queued >= self.workers + self.max_waiting
                or self._queued
                and self._queued_bytes + upload_bytes > self.max_waiting_bytes
            ):
                raise ServiceBusy(f"the service is busy ({self._queued} requests in line); retry shortly")
            self._queued += 1
            self._queued_bytes += upload_bytes
        try:
            yield
        finally:
            with self._count_lock:
                self._queued -= 1
                self._queued_bytes -= upload_bytes

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of the `workers` slots for heavy work (an analysis, drawing a stored photo); the wait is bounded."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise ServiceBusy(f"no analyzer became free within {self.wait_seconds:g} s; retry shortly")
        try:
            yield
        finally:
            self._slots.release()

    @contextmanager
    def borrow(self, detector: str, views: Views) -> Iterator[Analyzer]:
        """A slot and an analyzer with this detector and views. Holding a slot means one of their `workers`
        analyzers is free, so the get below never waits."""
        pool = self._analyzer_pool(detector, views)
        with self.slot():
            analyzer = pool.get()
            try:
                yield analyzer
            finally:
                pool.put(analyzer)
