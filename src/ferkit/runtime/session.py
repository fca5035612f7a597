"""One way to open an onnxruntime session, for every network the runtime runs: the emotion and age models and
the detectors. A thread count given to the Analyzer (`--threads`, a service pool, a batch worker) so bounds all
of them, and each setting below holds everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def open_session(path: str | Path, threads: int = 0, spin: bool = False) -> Any:
    """An onnxruntime CPU session; `threads` 0 leaves onnxruntime's own choice (one per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        # After a run, onnxruntime's threads keep spinning on the cores that the next stage needs (the
        # detector, the age model, an ensemble's next member). Measured on 640x480 photos (AVX2-only EPYC,
        # 2 threads): 92 -> 63 ms per photo with one face, 155 -> 106 with three; three ensemble members
        # ran at 0.4x their summed speed. Crops/s of the classifier alone did not change.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Without VNNI, onnxruntime's u8s8 int8 kernels sum pairs in int16 and saturate, so an int8 model's
    # answers would depend on the CPU; this makes them compute in u8u8 there (a no-op on VNNI/AMX CPUs),
    # and the recorded metrics reproduce on every x86 CPU.
    options.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
