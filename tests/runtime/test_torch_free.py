import subprocess
import sys


def test_the_runtime_imports_no_torch():
    code = (
        "import sys; import ferkit.runtime.analyzer, ferkit.runtime.detectors, ferkit.runtime.recognizer, "
        "ferkit.runtime.outputs, ferkit.runtime.detector_eval; "
        "print([m for m in ('torch', 'tensorflow', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
