"""What a batch reads: a folder, a glob, a text file of paths, or a Parquet file with a path column."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.runtime.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def list_inputs(source: str, path_column: str = "path") -> list[str]:
    """Every input path, absolute with links resolved (so a rerun that names the same files another way, through a
    relative path or a linked folder, skips them), in a stable order, without duplicates."""
    path = Path(source)
    if path.is_dir():
        found = [str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES]
    elif path.suffix.lower() == ".parquet" and path.is_file():
        found = _parquet_paths(path, path_column)
    elif path.suffix.lower() in {".txt", ".lst"} and path.is_file():
        found = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    elif path.is_file():
        found = [str(path)]
    else:
        found = sorted(glob.glob(source, recursive=True))
        if not found:
            raise FerkitError(f"{source}: no such folder, file list, Parquet file or matching pattern")
    return list(dict.fromkeys(os.path.realpath(item) for item in found))


def _parquet_paths(path: Path, column: str) -> list[str]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=[column])
    except Exception as error:  # pyarrow raises several types for missing columns and bad files
        raise FerkitError(f"{path}: cannot read a {column!r} column ({error})") from None
    return [str(value) for value in table.column(column).to_pylist() if value]
