"""Age metrics: mean absolute error, range accuracy, and the error for each gender and race, so the
biases of an age model are in plain view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ferkit.labels import AGE_RANGES, UTKFACE_GENDERS, UTKFACE_RACES, age_range


@dataclass
class AgeReport:
    count: int
    mae: float
    range_accuracy: float
    within_5_years: float
    mae_by_gender: dict[str, float]
    mae_by_race: dict[str, float]
    count_by_gender: dict[str, int]
    count_by_race: dict[str, int]
    # By the true age's range: where the model is weak (children, the old) shows here, not in the mean.
    mae_by_range: dict[str, float] = field(default_factory=dict)
    count_by_range: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"MAE {self.mae:.2f} years  range accuracy {self.range_accuracy:.4f}  "
            f"within 5 years {self.within_5_years:.4f}"
        )

    def table(self) -> str:
        lines = [f"images {self.count}  {self.summary()}"]
        for title, errors, counts in (
            ("gender", self.mae_by_gender, self.count_by_gender),
            ("race", self.mae_by_race, self.count_by_race),
            ("by age", self.mae_by_range, self.count_by_range),
        ):
            lines.append(f"{title:<8}" + "  ".join(f"{k} {v:.2f} (n={counts[k]})" for k, v in errors.items()))
        return "\n".join(lines)


def expected_age(probabilities: np.ndarray) -> np.ndarray:
    """The mean of the predicted distribution over whole years: smoother and more accurate than its argmax."""
    years: np.ndarray = probabilities @ np.arange(probabilities.shape[1], dtype=np.float64)
    return years


def age_report(
    predicted: np.ndarray, true: np.ndarray, gender: np.ndarray | None = None, race: np.ndarray | None = None
) -> AgeReport:
    errors = np.abs(predicted - true)
    same_range = [age_range(p) == age_range(t) for p, t in zip(predicted, true)]

    def by_group(codes: np.ndarray | None, names: Sequence[str]) -> tuple[dict[str, float], dict[str, int]]:
        if codes is None:
            return {}, {}
        groups = {name: codes == index for index, name in enumerate(names)}
        return (
            {name: round(float(errors[mask].mean()), 3) for name, mask in groups.items() if mask.any()},
            {name: int(mask.sum()) for name, mask in groups.items() if mask.any()},
        )

    mae_gender, count_gender = by_group(gender, UTKFACE_GENDERS)
    mae_race, count_race = by_group(race, UTKFACE_RACES)
    ranges = [age_range(t) for t in true]
    names = list(dict.fromkeys(age_range(low) for low, _ in AGE_RANGES))
    mae_range, count_range = by_group(np.array([names.index(r) for r in ranges]), names)
    return AgeReport(
        len(true),
        float(errors.mean()),
        float(np.mean(same_range)),
        float((errors <= 5).mean()),
        mae_gender,
        mae_race,
        count_gender,
        count_race,
        mae_range,
        count_range,
    )
