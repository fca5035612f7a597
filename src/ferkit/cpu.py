"""What this CPU is and which vector units it has: every benchmark prints it beside its figures, since the
same model runs 3-6x apart on an AVX2-only CPU and one with VNNI or AMX."""

from __future__ import annotations

import os
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

# What bench/avx2_only/run hides from every library in its process (it sets MASK_VARIABLE once it has):
# /proc/cpuinfo still lists these, the cpuid instruction no longer does.
MASK_VARIABLE = "FERKIT_CPUID_MASK"
HIDDEN_BY_AVX2_ONLY = frozenset(
    {
        "avx512f",
        "avx512dq",
        "avx512cd",
        "avx512bw",
        "avx512vl",
        "avx512_vnni",
        "avx_vnni",
        "avx512_bf16",
        "avx512_fp16",
        "amx_tile",
        "amx_bf16",
        "amx_int8",
    }
)


def cpuid_masked() -> bool:
    return os.environ.get(MASK_VARIABLE) == "avx2-only"


@cache
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    flags = frozenset(line.partition(":")[2].split())
    return flags - HIDDEN_BY_AVX2_ONLY if cpuid_masked() else flags


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
    flags = cpu_flags()
    have = [name for flag, name in FEATURES.items() if flag in flags]
    missing = [name for flag, name in FEATURES.items() if flag not in flags and name in ("AVX-512", "VNNI", "AMX")]
    cores = f"{os.cpu_count()} cores" + (f", {threads} threads used" if threads else "")
    masked = " [cpuid masked to AVX2 only: this CPU's AVX2 kernels, not an AVX2-only CPU's speed]"
    return (
        f"CPU {cpu_model()} ({cores}) {' '.join(have) or 'no AVX2'}{', no ' + ', no '.join(missing) if missing else ''}"
        f"{masked if cpuid_masked() else ''}"
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
