"""Runs side by side by their own validation figures (metrics.csv): each run's best epoch by the figure it was
selected on, and the mean of its last five epochs (steadier than one epoch); `--plot` draws the figure per epoch.

    python main/scripts/compare_runs.py runs/A runs/B --plot ablation.png

Emotion runs are read by `score` (both label sets) when they have it, else by accuracy; age runs by MAE (lower is
better).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from ferkit.evaluation.plots import plot_runs


def selection_column(rows: list[dict[str, str]]) -> str:
    if all(row.get("val_mae") for row in rows):
        return "val_mae"
    return "score" if all(row.get("score") for row in rows) else "val_acc"


def describe(name: str, rows: list[dict[str, str]], column: str) -> str:
    values = [float(row[column]) for row in rows]
    best = min(range(len(rows)), key=lambda i: values[i]) if column == "val_mae" else values.index(max(values))
    last = values[-5:]
    return (
        f"{name}: {len(rows)} epochs; best {column} {values[best]:.4f} at epoch {rows[best]['epoch']}; "
        f"last {len(last)} epochs mean {sum(last) / len(last):.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (each with its metrics.csv)")
    parser.add_argument("--plot", help="write the selection figure per epoch of every run to this picture")
    parser.add_argument("--plot-from", type=int, default=1, help="draw epochs from this one on (default: 1)")
    args = parser.parse_args()
    metrics = {}
    for run in args.runs:
        try:
            with open(run / "metrics.csv", newline="") as handle:
                metrics[run.name] = list(csv.DictReader(handle))
        except OSError as error:
            print(f"compare_runs: {run}: no metrics.csv ({error.strerror})", file=sys.stderr)
            return 2
    columns = {selection_column(rows) for rows in metrics.values() if rows}
    if len(columns) != 1:
        figures = ", ".join(sorted(columns))
        print(f"compare_runs: the runs are selected on different figures ({figures})", file=sys.stderr)
        return 2
    column = columns.pop()
    for name, rows in metrics.items():
        print(describe(name, rows, column))
    if args.plot:
        shown = {name: [row for row in rows if int(row["epoch"]) >= args.plot_from] for name, rows in metrics.items()}
        print(f"wrote {plot_runs(shown, column, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
