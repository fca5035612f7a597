"""The kernels an AVX2-only CPU runs give the answers recorded on this one (issue 30).

bench/avx2_only/run hides AVX-512, VNNI, BF16 and AMX from the cpuid instruction, so onnxruntime picks the
kernels it would pick on an AVX2-only CPU and runs them here. Needs cpuid faulting and a CPU with something to
hide; elsewhere the native kernels already are the AVX2 ones."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ferkit.cpu import cpu_flags

RUN = Path(__file__).resolve().parents[2] / "bench" / "avx2_only" / "run"
CAN_MASK = "cpuid_fault" in cpu_flags() and shutil.which("gcc") is not None
HAS_MORE_THAN_AVX2 = bool(cpu_flags() & {"avx512f", "avx512_vnni", "avx_vnni", "amx_tile"})
pytestmark = pytest.mark.skipif(
    not (CAN_MASK and HAS_MORE_THAN_AVX2),
    reason="needs cpuid faulting, gcc and a CPU with AVX-512, VNNI or AMX to hide",
)

PROBABILITIES = """
import sys
import numpy as np
from ferkit.runtime.shipped import load_emotion_model, shipped_emotion_models
rng = np.random.default_rng(0)
crops = [rng.integers(0, 256, (72, 64), dtype=np.uint8) for _ in range(48)]
np.savez(sys.argv[1], **{name: load_emotion_model(name, threads=1).predict_faces(crops)
                         for name in shipped_emotion_models()})
"""


def _python(code: str, *args: str, masked: bool) -> str:
    command = [sys.executable, "-c", code, *args]
    done = subprocess.run([str(RUN), *command] if masked else command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_mask_reaches_every_library():
    """ferkit, NumPy and onnxruntime's int8 kernel choice all see an AVX2-only CPU."""
    code = (
        "import json; import numpy as np; from ferkit import cpu;"
        "features = np._core._multiarray_umath.__cpu_features__;"
        "print(json.dumps([cpu.cpu_line(), cpu.kernel_name('int8'), features['AVX2'], features['AVX512F']]))"
    )
    line, kernel, numpy_avx2, numpy_avx512 = json.loads(_python(code, masked=True))
    assert "AVX2, no AVX-512, no VNNI, no AMX [cpuid masked" in line
    assert kernel == "int8 u8u8 (no VNNI)"
    assert numpy_avx2 and not numpy_avx512


def test_every_shipped_model_answers_the_same_with_avx2_kernels(tmp_path):
    _python(PROBABILITIES, str(tmp_path / "native.npz"), masked=False)
    _python(PROBABILITIES, str(tmp_path / "avx2.npz"), masked=True)
    native, avx2 = np.load(tmp_path / "native.npz"), np.load(tmp_path / "avx2.npz")
    assert set(native) == set(avx2)
    for name in native:
        # Float sums in another order move the 7th digit; int8 (u8u8 on every CPU) matches exactly.
        np.testing.assert_allclose(avx2[name], native[name], atol=1e-5, err_msg=name)
        assert (avx2[name].argmax(1) == native[name].argmax(1)).all(), name


CLI = "import sys; from ferkit.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def fer2013_store(tmp_path_factory) -> Path:
    """FER2013 prepared once for the models below (each preparation costs as much as a model's pass)."""
    from conftest import shared_data_dir

    archive = shared_data_dir() / "fer2013-images.tar.gz"
    if not archive.exists():
        pytest.skip(f"{archive} not found; CI runs this test")
    store = tmp_path_factory.mktemp("avx2") / "fer2013.npz"
    _python(CLI, "data", "prepare", str(archive), "--out", str(store), masked=False)
    return store


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fer2013-resnet", "fer2013-int8", "fer2013-fast"])
def test_recorded_accuracy_holds_with_avx2_kernels(name, fer2013_store, tmp_path):
    from ferkit.runtime.shipped import load_emotion_model

    out = tmp_path / "metrics.json"
    _python(
        CLI, "evaluate", name, "--store", str(fer2013_store), "--split", "PrivateTest", "--json", str(out), masked=True
    )
    recorded = load_emotion_model(name).card.metrics["PrivateTest"].accuracy
    assert json.loads(out.read_text())["accuracy"] == pytest.approx(recorded, abs=1e-9)
