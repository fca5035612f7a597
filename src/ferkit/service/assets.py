"""Where the web page's files live inside the package (they ship in the wheel: pyproject's package-data)."""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
