"""ferkit: facial emotion recognition toolkit.

Importing the package stays light: heavy dependencies (torch, onnxruntime, matplotlib)
are imported inside the functions that need them.
"""

import os

__version__ = "0.1.0"

# onnxruntime 1.32 on Linux keeps a device id and a queue of usage events under ~/.cache/Microsoft/ and sends
# them to Microsoft; a tool that reads people's faces offline must not. This opts out before onnxruntime starts
# (a user who sets the variable to 0 keeps their choice); tests/runtime/test_torch_free.py checks that a run
# leaves nothing in the home folder.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from importlib import import_module  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from ferkit.errors import FerkitError  # noqa: E402

if TYPE_CHECKING:  # what IDEs and mypy see for the lazy names below; nothing is imported at run time
    from ferkit.config import Config as Config
    from ferkit.models import create_model as create_model
    from ferkit.runtime.analyzer import Analyzer as Analyzer
    from ferkit.runtime.analyzer import AnalyzerOptions as AnalyzerOptions
    from ferkit.runtime.options import VideoOptions as VideoOptions
    from ferkit.runtime.shipped import load_emotion_model as load_model
    from ferkit.runtime.video import analyze_video as analyze_video
    from ferkit.training.trainer import train as train

# The public API by name, imported on first use so that `import ferkit` loads none of numpy, OpenCV,
# onnxruntime or torch: name -> (module, attribute).
_PUBLIC = {
    "Analyzer": ("ferkit.runtime.analyzer", "Analyzer"),
    "AnalyzerOptions": ("ferkit.runtime.analyzer", "AnalyzerOptions"),
    "load_model": ("ferkit.runtime.shipped", "load_emotion_model"),
    "analyze_video": ("ferkit.runtime.video", "analyze_video"),
    "VideoOptions": ("ferkit.runtime.options", "VideoOptions"),
    "Config": ("ferkit.config", "Config"),
    "create_model": ("ferkit.models", "create_model"),  # needs torch (the train extra)
    "train": ("ferkit.training.trainer", "train"),  # needs torch
}

# Spelled out (not built from _PUBLIC) so that type checkers and linters read it; a test keeps the two equal.
__all__ = [
    "FerkitError",
    "__version__",
    "Analyzer",
    "AnalyzerOptions",
    "load_model",
    "analyze_video",
    "VideoOptions",
    "Config",
    "create_model",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ferkit' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
