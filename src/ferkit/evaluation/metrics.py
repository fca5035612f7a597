"""Classification metrics in plain numpy, so the torch-free runtime can report them too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class ClassificationReport:
    classes: list[str]
    count: int
    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    precision: dict[str, float]
    f1: dict[str, float]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    balanced_accuracy: float = 0.0  # the mean of the per-class recalls
    ece: float | None = None  # expected calibration error (15 bins) where probabilities were given

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return f"accuracy {self.accuracy:.4f}  macro-F1 {self.macro_f1:.4f}"

    def table(self) -> str:
        lines = [f"{'class':<12}{'recall':>8}{'precision':>10}{'f1':>8}{'support':>9}"]
        support = np.array(self.confusion).sum(axis=1)
        for index, name in enumerate(self.classes):
            lines.append(
                f"{name:<12}{self.recall[name]:>8.4f}{self.precision[name]:>10.4f}{self.f1[name]:>8.4f}{support[index]:>9}"
            )
        calibration = f"  ECE {self.ece:.4f}" if self.ece is not None else ""
        lines.append(
            f"accuracy {self.accuracy:.4f}  macro-F1 {self.macro_f1:.4f}  balanced accuracy "
            f"{self.balanced_accuracy:.4f}{calibration}  images {self.count}"
        )
        return "\n".join(lines)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def classification_report(true: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> ClassificationReport:
    true, predicted = np.asarray(true, np.int64), np.asarray(predicted, np.int64)
    matrix = confusion_matrix(true, predicted, len(classes))
    hits = np.diag(matrix).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.nan_to_num(hits / matrix.sum(axis=1))
        precision = np.nan_to_num(hits / matrix.sum(axis=0))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return ClassificationReport(
        classes=list(classes),
        count=int(len(true)),
        accuracy=float(hits.sum() / max(len(true), 1)),
        macro_f1=float(f1.mean()),
        recall=dict(zip(classes, recall.round(6).tolist())),
        precision=dict(zip(classes, precision.round(6).tolist())),
        f1=dict(zip(classes, f1.round(6).tolist())),
        confusion=matrix.tolist(),
        balanced_accuracy=float(recall.mean()),
    )
