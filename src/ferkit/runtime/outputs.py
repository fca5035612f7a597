"""Writing results at the edge: annotated images, one JSON per image, one CSV with a row per face."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ferkit.runtime.draw import annotate
from ferkit.runtime.results import ImageResult


class OutputWriter:
    def __init__(
        self,
        out_dir: str | Path | None,
        csv_path: str | Path | None,
        classes: Sequence[str],
        annotate_images: bool = True,
    ):
        self.out_dir = Path(out_dir) if out_dir else None
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.annotate_images = annotate_images
        self.classes = list(classes)
        self._used_stems: set[str] = set()
        self._csv_handle = open(csv_path, "w", newline="") if csv_path else None
        self._csv: csv.DictWriter[str] | None = None

    def write(self, path: Path, result: ImageResult, image: np.ndarray | None) -> None:
        if self.out_dir:
            stem = self._unique_stem(path.stem)
            # The source path is inside: two inputs named alike become x.json and x-2.json.
            (self.out_dir / f"{stem}.json").write_text(json.dumps({"source": str(path), **result.to_dict()}, indent=2))
            if image is not None and self.annotate_images:
                cv2.imwrite(str(self.out_dir / f"{stem}.annotated.jpg"), annotate(image, result.faces))
        if self._csv_handle:
            for row in result.csv_rows(self.classes):
                self._csv_row({"path": str(path), **row})

    def _csv_row(self, row: dict[str, Any]) -> None:
        assert self._csv_handle is not None  # rows are written only where a CSV was asked for
        if self._csv is None:
            columns = ["path", *ImageResult.csv_columns(self.classes)]
            self._csv = csv.DictWriter(self._csv_handle, fieldnames=columns, restval="")
            self._csv.writeheader()
        self._csv.writerow(row)
        self._csv_handle.flush()

    def _unique_stem(self, stem: str) -> str:
        """Two inputs named alike (a/x.jpg, b/x.jpg) must not overwrite each other's outputs."""
        candidate, counter = stem, 1
        while candidate in self._used_stems:
            counter += 1
            candidate = f"{stem}-{counter}"
        self._used_stems.add(candidate)
        return candidate

    def close(self) -> None:
        if self._csv_handle:
            self._csv_handle.close()

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
