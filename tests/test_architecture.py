"""Layers import one way: data -> models -> training/evaluation -> export -> runtime -> cli/service."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ferkit"
LAYER = {
    "labels": 0,
    "errors": 0,
    "atomic": 0,
    "progress": 0,
    "config": 0,
    "calibration": 0,
    "cpu": 0,
    "data": 1,
    "models": 2,
    "training": 3,
    "evaluation": 3,
    "export": 4,
    "runtime": 5,
    "batch": 6,
    "service": 6,
    "cli": 7,
}


def ferkit_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ferkit."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ferkit."):
                    yield alias.name.split(".")[1]


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_imports_flow_one_way(path):
    own = layer_of(path)
    if own == "__init__":
        return
    for imported in ferkit_imports(path):
        if imported == own:
            continue
        # Same-layer imports are allowed (training and evaluation share checkpoints and prediction).
        assert LAYER[imported] <= LAYER[own], f"{path.relative_to(PACKAGE)} ({own}) imports ferkit.{imported}"
        assert imported != "cli" and (imported != "service" or own == "cli"), (
            f"{path.relative_to(PACKAGE)} imports ferkit.{imported}"
        )


def test_import_ferkit_stays_light():
    heavy = "('torch', 'matplotlib', 'onnxruntime')"
    code = f"import sys, ferkit, ferkit.data; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
