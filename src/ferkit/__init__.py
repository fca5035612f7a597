"""ferkit: facial emotion recognition toolkit.

Importing the package stays light: heavy dependencies (torch, onnxruntime, matplotlib)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"

from ferkit.errors import FerkitError

__all__ = ["FerkitError", "__version__"]
