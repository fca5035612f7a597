"""Layers import one way: ground -> data -> models -> evaluation -> training -> export -> runtime -> batch,
service -> cli. Ground-level modules (labels, errors, config, faces, views, calibration, ...) import no other layer."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ferkit"
GROUND = (
    "labels",
    "errors",
    "atomic",
    "progress",
    "config",
    "calibration",
    "cpu",
    "faces",
    "views",
    "card",
    "deadline",
)
LAYER = {
    **dict.fromkeys(GROUND, 0),
    "data": 1,
    "models": 2,
    "evaluation": 3,  # metrics and measuring any predictor: numpy, no torch, nothing from training
    "training": 4,
    "export": 5,
    "runtime": 6,  # numpy, OpenCV, onnxruntime: imports only ground-level modules (test below)
    "batch": 7,
    "service": 7,
    "cli": 8,
}


def ferkit_imports(path: Path):
    """The ferkit layers a file imports: `from ferkit.x...`, `import ferkit.x`, `from ferkit import x`."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ferkit."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.ImportFrom) and node.module == "ferkit":
            yield from (alias.name for alias in node.names if alias.name in LAYER)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ferkit."):
                    yield alias.name.split(".")[1]


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    own = layer_of(path)
    if own == "__init__":
        return
    for imported in ferkit_imports(path):
        if imported == own:
            continue
        where = f"{path.relative_to(PACKAGE)} ({own}) imports ferkit.{imported}"
        assert LAYER[imported] < LAYER[own] or LAYER[own] == 0 == LAYER[imported], where
        if own == "runtime":
            assert LAYER[imported] == 0, f"{where}: the runtime takes only ground-level modules"


def test_the_rules_catch_a_knot(tmp_path):
    """The check above, on a file that breaks it: evaluation reaching up into training."""
    knot = tmp_path / "knot.py"
    knot.write_text("from ferkit.training.checkpoint import load_checkpoint\nfrom ferkit import calibration\n")
    assert list(ferkit_imports(knot)) == ["training", "calibration"]
    assert not LAYER["training"] < LAYER["evaluation"]


def test_import_ferkit_stays_light():
    heavy = "('torch', 'matplotlib', 'onnxruntime')"
    code = f"import sys, ferkit, ferkit.data; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def module_imports(path: Path, known: set[str]) -> set[str]:
    """The ferkit modules a file imports, at the top or inside a function: `from ferkit.a.b import c` names
    ferkit.a.b.c where that is a module, else ferkit.a.b."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ferkit"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("ferkit")}
    return found & known


def test_no_import_circles_within_a_layer():
    """Two modules of one package that import each other (even inside a function) are one module in two files:
    training/classic.py and training/trainer.py were, over the run result they share."""
    modules = {module_name(path): path for path in SOURCES}
    known = set(modules)
    graph = {name: module_imports(path, known) - {name} for name, path in modules.items()}
    circles = []
    for name, imported in graph.items():
        for other in imported:
            if name in graph[other] and layer_of(modules[name]) == layer_of(modules[other]) and name < other:
                circles.append((name, other))
    assert circles == []


# Each typed record has one home that reads and writes its raw form; everywhere else goes through its fields.
RAW_KEYS = {
    "src/ferkit/training/checkpoint.py": (
        'get("best_val_acc"',
        '["optimizer"]',
        '["schedule"]',
        '["rng"]',
        'checkpoint["',
    ),
    "src/ferkit/runtime/ensemble.py": ('["members"]', 'entry["sha256"]', 'manifest["'),
    "src/ferkit/card.py": ('"model_kwargs"', 'calibration["', 'metrics["', 'get("mirror"', '["temperature"]'),
}
OLD_VIEWS_FLAGS = ("ten_crop=", "mirror=True", "mirror=False", ".mirror ", ".ten_crop", "ten_crop: bool")


def test_raw_keys_and_old_views_flags_live_only_in_their_homes():
    """Checkpoint payloads, ensemble manifests and the card's JSON are read by string key only where their typed
    record is made (Checkpoint, Manifest, ModelCard); the views choice travels as one Views value, not as the two
    booleans it replaced."""
    root = PACKAGE.parents[1]
    for path in SOURCES:
        text, name = path.read_text(), str(path.relative_to(root))
        for home, keys in RAW_KEYS.items():
            if name != home:
                assert not [key for key in keys if key in text], f"{name} reads {home}'s raw keys"
        assert not [flag for flag in OLD_VIEWS_FLAGS if flag in text], f"{name} passes views as booleans"
