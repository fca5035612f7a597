import pytest

from ferkit import cpu


@pytest.mark.parametrize(
    ("flags", "weights", "kernel"),
    [
        ({"avx2"}, "int8", "int8 u8u8 (no VNNI)"),
        ({"avx2", "avx_vnni"}, "int8", "int8 (VNNI)"),
        ({"avx2", "avx512f", "avx512_vnni"}, "int8", "int8 (VNNI)"),
        ({"avx2", "avx512f", "avx512_vnni", "amx_tile"}, "int8", "int8 (AMX)"),
        ({"avx2", "amx_tile"}, "fp16", "fp32 (fp16 weights)"),
        ({"avx2"}, "fp32", "fp32"),
    ],
)
def test_kernel_follows_the_cpu_features(monkeypatch, flags, weights, kernel):
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset(flags))
    assert cpu.kernel_name(weights) == kernel


def test_cpu_line_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    monkeypatch.setattr(cpu, "cpu_model", lambda: "Some CPU")
    line = cpu.cpu_line(threads=2)
    assert line.startswith("CPU Some CPU (") and "2 threads used) AVX2, no AVX-512, no VNNI, no AMX" in line


@pytest.mark.parametrize("name,weights", [("fer2013-resnet", "fp16"), ("fer2013-int8", "int8")])
def test_a_shipped_model_says_which_kernel_runs(name, weights):
    from ferkit.runtime.shipped import load_emotion_model

    assert load_emotion_model(name).kernel == cpu.kernel_name(weights)


def test_a_masked_process_reports_what_its_libraries_see(monkeypatch):
    """Under bench/avx2_only/run, /proc/cpuinfo still lists AVX-512 and AMX, but no library sees them."""
    monkeypatch.setattr(cpu, "cpu_model", lambda: "Some CPU")
    cpu.cpu_flags.cache_clear()
    monkeypatch.setenv(cpu.MASK_VARIABLE, "avx2-only")
    try:
        flags = cpu.cpu_flags()
        line = cpu.cpu_line()
    finally:
        cpu.cpu_flags.cache_clear()
    assert not flags & cpu.HIDDEN_BY_AVX2_ONLY
    assert line.endswith("[cpuid masked to AVX2 only: this CPU's AVX2 kernels, not an AVX2-only CPU's speed]")
