import os
import subprocess
import sys
from pathlib import Path


def test_the_runtime_imports_no_torch():
    code = (
        "import sys; import ferkit.runtime.analyzer, ferkit.runtime.detectors, ferkit.runtime.recognizer, "
        "ferkit.runtime.outputs, ferkit.runtime.detector_eval; "
        "print([m for m in ('torch', 'tensorflow', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_leaves_nothing_in_the_home_folder(tmp_path, samples):
    """No telemetry: onnxruntime 1.32 would keep a device id and an event queue under ~/.cache/Microsoft."""
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"} | {"HOME": str(home)}
    env.pop("XDG_CACHE_HOME", None)
    photo = samples / "photos" / "obama.jpg"
    ferkit = Path(sys.executable).with_name("ferkit")
    subprocess.run([str(ferkit), "analyze", str(photo), "--out", str(out)], env=env, check=True, capture_output=True)
    assert (out / "obama.json").is_file()
    assert [p.relative_to(home) for p in home.rglob("*")] == []
