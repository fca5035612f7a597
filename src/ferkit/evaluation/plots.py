"""Pictures people look at: training curves and confusion matrices (matplotlib, headless)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.calibration import Reliability


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(metrics_csv: str | Path, path: str | Path, title: str = "") -> Path:
    """Loss and accuracy per epoch for training and validation, and the learning rate."""
    with open(metrics_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    plt = _pyplot()
    epochs = [int(r["epoch"]) for r in rows]

    def column(key: str) -> list[float]:
        return [float(row[key]) for row in rows]

    figure, (loss_axes, acc_axes, lr_axes) = plt.subplots(1, 3, figsize=(14, 4))
    loss_axes.plot(epochs, column("train_loss"), label="train")
    loss_axes.plot(epochs, column("val_loss"), label="validation")
    loss_axes.set_title("loss")
    acc_axes.plot(epochs, column("train_acc"), label="train")
    acc_axes.plot(epochs, column("val_acc"), label="validation")
    selected_by = "val_acc"
    if all(row.get("val_acc_other") for row in rows):  # data.also_validate_on: other label sets chose too
        acc_axes.plot(epochs, column("val_acc_other"), label="validation, other labels")
        acc_axes.plot(epochs, column("score"), label="validation, mean of both")
        selected_by = "score"
    scores = column(selected_by)
    best = int(np.argmax(scores))
    acc_axes.scatter([epochs[best]], [scores[best]], color="red", zorder=3, label=f"best {scores[best]:.4f}")
    acc_axes.set_title("accuracy")
    maes = [r.get("val_mae") or "" for r in rows]
    if all(maes):  # age models: the error in years is what selection watches
        mae_axes = acc_axes.twinx()
        mae_axes.plot(epochs, [float(v) for v in maes], color="purple", label="validation MAE (years)")
        mae_axes.set_ylabel("MAE (years)")
        mae_axes.legend(loc="center right")
    lr_axes.plot(epochs, column("lr"))
    if min(column("lr")) > 0:  # cosine ends at exactly 0, which a log axis cannot show
        lr_axes.set_yscale("log")
    lr_axes.set_title("learning rate")
    for axes in (loss_axes, acc_axes, lr_axes):
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    loss_axes.legend()
    acc_axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_confusion(
    confusion: Sequence[Sequence[int]] | np.ndarray, classes: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (recall on the diagonal) with raw counts in each cell."""
    plt = _pyplot()
    matrix = np.asarray(confusion, dtype=float)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(5, 0.8 * len(classes) + 2)
    figure, axes = plt.subplots(figsize=(size, size * 0.85))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for row in range(len(classes)):
        for col in range(len(classes)):
            colour = "white" if normalised[row, col] > 0.55 else "black"
            axes.text(
                col,
                row,
                f"{normalised[row, col]:.2f}\n{int(matrix[row, col])}",
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
            )
    figure.colorbar(image, ax=axes, fraction=0.046)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def plot_reliability(curves: dict[str, Reliability], path: str | Path, title: str = "") -> Path:
    """Reliability diagram: accuracy against stated confidence per bin, one line per curve (e.g. before and
    after temperature scaling), the diagonal being perfect calibration, and how many answers each bin holds."""
    plt = _pyplot()
    figure, (axes, counts) = plt.subplots(2, 1, figsize=(5.5, 6.5), sharex=True, height_ratios=[3, 1])
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfect")
    for (label, bins), marker in zip(curves.items(), "os^"):
        shown = bins.count > 0
        axes.plot(bins.confidence[shown], bins.accuracy[shown], marker=marker, label=f"{label} (ECE {bins.ece:.3f})")
        centres = (np.arange(len(bins.count)) + 0.5) / len(bins.count)
        counts.step(centres, bins.count, where="mid", label=label)
    axes.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=title)
    axes.legend(loc="upper left", fontsize=8)
    counts.set(xlabel="confidence (top probability)", ylabel="faces")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_runs(metrics: dict[str, Sequence[dict[str, str]]], column: str, path: str | Path, title: str = "") -> Path:
    """One figure of several runs' validation figure per epoch (rows of each run's metrics.csv), for ablations."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for name, rows in metrics.items():
        axes.plot([int(row["epoch"]) for row in rows], [float(row[column]) for row in rows], label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel(column)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)
