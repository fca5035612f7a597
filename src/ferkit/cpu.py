"""What this CPU is and which vector units it has: every benchmark prints it beside its figures, since the
same model runs 3-6x apart on an AVX2-only CPU and one with VNNI or AMX."""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

# The units that decide which kernels are fast here, as /proc/cpuinfo names them.
FEATURES = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_vnni": "VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "BF16",
    "amx_tile": "AMX",
}


@cache
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


@cache
def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    line = next((line for line in text.splitlines() if line.startswith("model name")), "")
    return line.partition(":")[2].strip() or platform.machine()


def cpu_line(threads: int | None = None) -> str:
    """'CPU AMD EPYC (2 cores) AVX2 AVX-512 VNNI BF16, no AMX'."""
    import os

    flags = cpu_flags()
    have = [name for flag, name in FEATURES.items() if flag in flags]
    missing = [name for flag, name in FEATURES.items() if flag not in flags and name in ("AVX-512", "VNNI", "AMX")]
    cores = f"{os.cpu_count()} cores" + (f", {threads} threads used" if threads else "")
    return (
        f"CPU {cpu_model()} ({cores}) {' '.join(have) or 'no AVX2'}{', no ' + ', no '.join(missing) if missing else ''}"
    )


def kernel_name(weights: str) -> str:
    """Which onnxruntime kernel computes a model with these weights ("int8", "fp16", "fp32") on this CPU."""
    if weights != "int8":
        return "fp32" + (" (fp16 weights)" if weights == "fp16" else "")
    flags = cpu_flags()
    if "amx_tile" in flags:
        return "int8 (AMX)"
    if flags & {"avx512_vnni", "avx_vnni"}:
        return "int8 (VNNI)"
    # Without VNNI the recognizer asks onnxruntime for u8u8 kernels, so answers do not depend on the CPU.
    return "int8 u8u8 (no VNNI)"
