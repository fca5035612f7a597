"""The output Parquet file, written so that a batch can stop anywhere and resume.

Finished chunks land as part files in `<out>.parts/` (each written whole, then renamed); at the end the
old output and the parts merge, sorted, into `<out>`. A rerun skips every path already in either.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ferkit.atomic import atomic_write
from ferkit.batch.work import PROBABILITY_PREFIX, Row, row_fields

if TYPE_CHECKING:
    import pyarrow as pa


class ResultStore:
    def __init__(self, out: str | Path, classes: list[str]):
        self.out = Path(out)
        self.parts = self.out.with_name(self.out.name + ".parts")
        self.columns = row_fields(classes)
        self.parts.mkdir(parents=True, exist_ok=True)
        self._count = len(list(self.parts.glob("part-*.parquet")))

    def done_paths(self) -> set[str]:
        import pyarrow.parquet as pq

        files = ([self.out] if self.out.exists() else []) + sorted(self.parts.glob("part-*.parquet"))
        return {path for file in files for path in pq.read_table(file, columns=["path"]).column("path").to_pylist()}

    def failed_paths(self) -> set[str]:
        """The inputs of the merged output that failed (an error row), after `finish`."""
        import pyarrow.parquet as pq

        table = pq.read_table(self.out, columns=["path", "status"]).to_pylist()
        return {row["path"] for row in table if row["status"] == "error"}

    def write_part(self, rows: list[Row]) -> None:
        if not rows:
            return
        self._count += 1
        self._atomic_write(self._table(rows), self.parts / f"part-{os.getpid()}-{self._count:06d}.parquet")

    def finish(self) -> int:
        """Merge output and parts into one file sorted by path, frame and face; returns the row count."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [
            pq.read_table(f)
            for f in ([self.out] if self.out.exists() else []) + sorted(self.parts.glob("part-*.parquet"))
        ]
        table = pa.concat_tables([t.select(self.columns) for t in tables]) if tables else self._table([])
        table = table.sort_by([("path", "ascending"), ("frame", "ascending"), ("face_id", "ascending")])
        self._atomic_write(table, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
        return int(table.num_rows)

    def _table(self, rows: list[Row]) -> pa.Table:
        import pyarrow as pa

        schema = pa.schema([(c, self._type(c)) for c in self.columns])
        return pa.Table.from_pylist([{c: row.get(c) for c in self.columns} for row in rows], schema=schema)

    @staticmethod
    def _type(column: str) -> pa.DataType:
        import pyarrow as pa

        if column in ("frame", "face_id", "x1", "y1", "x2", "y2"):
            return pa.int64()
        if column in ("score", "age") or column.startswith(PROBABILITY_PREFIX):
            return pa.float64()
        return pa.string()

    def _atomic_write(self, table: pa.Table, path: Path) -> None:
        import pyarrow.parquet as pq

        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
