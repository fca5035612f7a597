"""Files written whole or not at all: a temp file beside the target, then a rename over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call `write(temp_path)`, then move the result onto `path`; a failure leaves `path` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """A compressed .npz of `arrays`, written whole or not at all."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool

    return atomic_write(path, write)
