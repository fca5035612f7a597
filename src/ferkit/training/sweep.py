"""`ferkit sweep`: a grid of optimizers x schedulers on a fixed epoch budget, as the reference work compares them.

Every cell is an ordinary run folder under the sweep folder, so a cell can be resumed or inspected alone;
the sweep writes results.csv and one plot of validation accuracy per epoch for every cell.
"""

from __future__ import annotations

import copy
import csv
import itertools
from pathlib import Path

from ferkit.config import Config
from ferkit.training.trainer import train


def run_sweep(
    config: Config, optimizers: list[str], schedulers: list[str], out_dir: str | Path, progress: bool = False
) -> list[dict]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for optimizer, scheduler in itertools.product(optimizers, schedulers):
        cell = copy.deepcopy(config)
        cell.optim.name, cell.schedule.name = optimizer, scheduler
        cell.train.out_dir, cell.train.name = str(out_dir), f"{optimizer}-{scheduler}"
        run_dir = out_dir / cell.train.name
        resume = run_dir if (run_dir / "last.pt").exists() else None
        print(f"== {cell.train.name}{' (resuming)' if resume else ''}", flush=True)
        result = train(cell, resume=resume, progress=progress, final_report=False)
        history = _read_metrics(run_dir / "metrics.csv")
        rows.append(
            {
                "optimizer": optimizer,
                "scheduler": scheduler,
                "best_val_acc": result.best_score,  # sweeps compare emotion models
                "best_epoch": result.best_epoch,
                "final_train_loss": float(history[-1]["train_loss"]),
                "seconds": sum(float(r["seconds"]) for r in history),
            }
        )
    _write_results(rows, out_dir / "results.csv")
    plot_sweep(out_dir, rows)
    return rows


def _read_metrics(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _write_results(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def format_results(rows: list[dict]) -> str:
    lines = [f"{'optimizer':<14}{'scheduler':<17}{'best val acc':>13}{'epoch':>7}{'train loss':>12}{'minutes':>9}"]
    for row in sorted(rows, key=lambda r: -r["best_val_acc"]):
        lines.append(
            f"{row['optimizer']:<14}{row['scheduler']:<17}{row['best_val_acc']:>13.4f}{row['best_epoch']:>7}"
            f"{row['final_train_loss']:>12.4f}{row['seconds'] / 60:>9.1f}"
        )
    return "\n".join(lines)


def plot_sweep(out_dir: Path, rows: list[dict]) -> Path:
    from ferkit.evaluation.plots import _pyplot

    plt = _pyplot()
    figure, (curves, bars) = plt.subplots(1, 2, figsize=(14, 5))
    for row in rows:
        name = f"{row['optimizer']}-{row['scheduler']}"
        history = _read_metrics(out_dir / name / "metrics.csv")
        curves.plot([int(r["epoch"]) for r in history], [float(r["val_acc"]) for r in history], label=name)
    curves.set_xlabel("epoch")
    curves.set_ylabel("validation accuracy")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=7)
    ordered = sorted(rows, key=lambda r: r["best_val_acc"])
    bars.barh([f"{r['optimizer']}-{r['scheduler']}" for r in ordered], [r["best_val_acc"] for r in ordered])
    bars.set_xlabel("best validation accuracy")
    figure.tight_layout()
    path = out_dir / "sweep.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
