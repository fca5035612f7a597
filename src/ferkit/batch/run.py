"""`ferkit batch SOURCE --out results.parquet [--engine local|ray]`: resumable, one row per face."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ferkit.batch.engines import run_local, run_ray
from ferkit.batch.inputs import list_inputs
from ferkit.batch.store import ResultStore
from ferkit.batch.work import WorkSpec
from ferkit.errors import FerkitError
from ferkit.progress import Progress
from ferkit.runtime.age import AgeEstimator
from ferkit.runtime.shipped import load_emotion_model

ENGINES = ("local", "ray")


@dataclass
class BatchSummary:
    inputs: int
    skipped: int
    processed: int
    rows: int
    seconds: float
    failed: int = 0  # inputs of the output with an error row, from this run or an earlier one

    @property
    def inputs_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def run_batch(
    source: str,
    out: str | Path,
    spec: WorkSpec | None = None,
    *,
    engine: str = "local",
    address: str | None = None,
    workers: int = 2,
    chunk: int = 8,
    progress: bool = True,
) -> BatchSummary:
    spec = spec or WorkSpec()
    if engine not in ENGINES:
        raise FerkitError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if workers < 1 or chunk < 1:
        raise FerkitError("--workers and chunk size must be 1 or more")
    paths = list_inputs(source)
    # Loaded here once so a wrong model is one clear error, not a failure inside every worker.
    classes = list(load_emotion_model(spec.model).classes)
    if spec.age_model and spec.options.age:
        AgeEstimator(spec.age_model)
    store = ResultStore(out, classes)
    done = {os.path.abspath(path) for path in store.done_paths()}
    todo = [p for p in paths if p not in done]
    started = time.perf_counter()
    bar = Progress(len(todo), f"batch ({engine})", "inputs") if progress else None
    if engine == "ray":
        batches = run_ray(todo, spec, workers, chunk, address)
    else:
        batches = run_local(todo, spec, workers, chunk)
    for count, rows in batches if todo else []:
        store.write_part(rows)
        if bar:
            bar.update(count)
    if bar:
        bar.close()
    total = store.finish()
    seconds = time.perf_counter() - started
    return BatchSummary(len(paths), len(paths) - len(todo), len(todo), total, seconds, len(store.failed_paths()))
