"""After training: the best checkpoint measured on the validation and test splits, with pictures."""

from __future__ import annotations

import json
from pathlib import Path

from ferkit.card import metric_key
from ferkit.data import load_store
from ferkit.evaluation.age import AgeReport
from ferkit.evaluation.evaluate import evaluate_on_store
from ferkit.views import Views


def report_run(
    run_dir: str | Path,
    store_path: str | Path,
    splits=("PublicTest", "PrivateTest"),
    predictor=None,
    views=(Views.CENTRE, Views.TEN),
) -> dict:
    """After training: the best checkpoint (or the `predictor` given) on validation and test splits, on each of
    `views` (the centre crop and ten crops).

    This only reports; nothing here feeds back into model selection.
    """
    from ferkit.evaluation.plots import plot_confusion

    run_dir = Path(run_dir)
    if predictor is None:
        from ferkit.training.predict import CheckpointPredictor

        predictor = CheckpointPredictor(run_dir / "best.pt")
    available = set(load_store(store_path).counts())
    summary = {}
    for split in [s for s in splits if s in available]:
        for view in views:
            report, timing = evaluate_on_store(predictor, store_path, split, view)
            tag = metric_key(split, view)
            (run_dir / f"eval-{tag}.json").write_text(json.dumps({**report.to_dict(), "timing": timing}, indent=2))
            print(f"{tag:<22} {report.summary()}", flush=True)
            if isinstance(report, AgeReport):
                summary[tag] = {"mae": report.mae, "range_accuracy": report.range_accuracy}
                continue
            plot_confusion(
                report.confusion,
                report.classes,
                run_dir / f"confusion-{tag}.png",
                f"{run_dir.name} {tag}: {report.summary()}",
            )
            summary[tag] = {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
