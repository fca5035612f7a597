"""Two engines, one result: `local` (a process pool on this machine) and `ray` (Ray Data with a pool of
actors, each loading the ONNX models once), both running batch.work.Worker on chunks of inputs."""

from __future__ import annotations

from collections.abc import Iterator

from ferkit.batch.work import Worker, WorkSpec

_worker: Worker | None = None


def _init_process(spec: WorkSpec) -> None:
    global _worker
    _worker = Worker(spec)


def _process_chunk(paths: list[str]) -> list[dict]:
    return [row for path in paths for row in _worker.rows(path)]


def run_local(paths: list[str], spec: WorkSpec, workers: int, chunk: int) -> Iterator[tuple[int, list[dict]]]:
    """Yields (inputs done, rows) per finished chunk."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    context = multiprocessing.get_context("spawn")  # fork and onnxruntime's threads do not mix
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_process, initargs=(spec.single_threaded(),)
    ) as pool:
        futures = {pool.submit(_process_chunk, c): len(c) for c in chunks}
        for future in as_completed(futures):
            yield futures[future], future.result()


class _RayWorker:
    def __init__(self, spec: WorkSpec):
        self.worker = Worker(spec)

    def __call__(self, batch: dict) -> dict:
        rows = [row for path in batch["path"] for row in self.worker.rows(str(path))]
        return {"rows": rows}


def run_ray(
    paths: list[str], spec: WorkSpec, workers: int, chunk: int, address: str | None
) -> Iterator[tuple[int, list[dict]]]:
    import ray

    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            logging_level="warning",
        )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ferkit draws its own
    context.print_on_execution_start = False
    dataset = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=max(1, len(paths) // chunk))
    results = dataset.map_batches(
        _RayWorker,
        fn_constructor_args=(spec.single_threaded(),),
        batch_size=chunk,
        # Starts with `workers` actors and goes on with fewer when a node dies: its chunks are retried on the
        # actors left (scripts/test-ray-cluster kills a node mid-run).
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers, initial_size=workers),
        num_cpus=1,
        batch_format="numpy",
    )
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        rows = [row for group in batch["rows"] for row in (group if isinstance(group, list) else [group])]
        yield len({row["path"] for row in rows}), rows
