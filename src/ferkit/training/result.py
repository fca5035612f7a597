"""What a finished training run reports: its folder and its best epoch. Its own module, so that every trainer
(the network loop, the classic HOG+SVM baseline) returns it without importing another trainer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunResult:
    run_dir: Path
    best_epoch: int
    best_score: float  # what selects the best epoch, higher is better: accuracy (averaged over the validation
    # faces' label sets when data.also_validate_on names others), or minus the MAE for age models
    epochs_done: int
    is_age: bool = False

    def best(self) -> str:
        if self.is_age:
            return f"best validation MAE {-self.best_score:.2f} years at epoch {self.best_epoch}"
        return f"best validation accuracy {self.best_score:.4f} at epoch {self.best_epoch}"
