"""`ferkit compare`: several models side by side on one split, in one table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ferkit.card import Predictor
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import evaluate_on_store
from ferkit.evaluation.metrics import ClassificationReport
from ferkit.views import Views

Row = dict[str, Any]


def compare_models(
    predictors: dict[str, Predictor], store: str | Path, split: str, views: Views | None = Views.CENTRE
) -> list[Row]:
    """`predictors` maps a display name to a loaded model (checkpoint or ONNX); views None: each model's own."""
    rows = []
    for model, predictor in predictors.items():
        report, timing = evaluate_on_store(predictor, store, split, views or predictor.card.views)
        if not isinstance(report, ClassificationReport):
            raise FerkitError(f"{store}: `ferkit compare` compares emotion models; use `ferkit evaluate` for age")
        rows.append(
            {
                "model": str(model),
                "accuracy": report.accuracy,
                "macro_f1": report.macro_f1,
                **{f"recall_{name}": value for name, value in report.recall.items()},
                "images_per_s": timing["images_per_second"],
            }
        )
    return rows


def format_table(rows: list[Row]) -> str:
    if not rows:
        return ""
    recall_keys = [k for k in rows[0] if k.startswith("recall_")]
    width = max(len(r["model"]) for r in rows) + 2
    header = (
        f"{'model':<{width}}{'acc':>8}{'mF1':>8}" + "".join(f"{k[7:][:8]:>9}" for k in recall_keys) + f"{'img/s':>9}"
    )
    lines = [header]
    for row in rows:
        recalls = "".join(f"{row[k]:>9.3f}" for k in recall_keys)
        lines.append(
            f"{row['model']:<{width}}{row['accuracy']:>8.4f}{row['macro_f1']:>8.4f}{recalls}{row['images_per_s']:>9.0f}"
        )
    return "\n".join(lines)


def write_csv(rows: list[Row], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
