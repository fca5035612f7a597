"""Evaluate a checkpoint on a store split: accuracy, per-class recall, macro-F1, confusion matrix, latency."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ferkit.data import load_store
from ferkit.evaluation.metrics import ClassificationReport, classification_report
from ferkit.evaluation.predict import predict_probabilities
from ferkit.errors import FerkitError


def evaluate_checkpoint(checkpoint_path: str | Path, store_path: str | Path, split: str = "PrivateTest",
                        ten_crops: bool = False) -> tuple[ClassificationReport, dict]:
    from ferkit.training.checkpoint import load_checkpoint, model_from_checkpoint
    from ferkit.training.data import split_tensors

    model, meta = model_from_checkpoint(load_checkpoint(checkpoint_path))
    store = load_store(store_path)
    if list(store.classes) != list(meta["classes"]):
        raise FerkitError(f"{store_path}: classes {list(store.classes)} differ from the model's {meta['classes']}")
    data = split_tensors(store, [split], "majority", meta["preprocessing"]["image_size"])
    started = time.perf_counter()
    probabilities = predict_probabilities(model, data.images, meta["preprocessing"], ten_crops=ten_crops)
    seconds = time.perf_counter() - started
    report = classification_report(data.labels.numpy(), probabilities.argmax(1).numpy(), meta["classes"])
    timing = {"seconds": seconds, "images_per_second": len(data) / seconds, "ms_per_image": 1000 * seconds / len(data),
              "threads": torch.get_num_threads()}
    return report, timing


def report_run(run_dir: str | Path, store_path: str | Path, splits=("PublicTest", "PrivateTest")) -> dict:
    """After training: the best checkpoint on validation and test splits, centre crop and ten crops.

    This only reports; nothing here feeds back into model selection.
    """
    from ferkit.evaluation.plots import plot_confusion

    run_dir = Path(run_dir)
    summary = {}
    available = set(load_store(store_path).counts())
    for split in splits:
        if split not in available:
            continue
        for ten_crops in (False, True):
            report, timing = evaluate_checkpoint(run_dir / "best.pt", store_path, split, ten_crops)
            tag = f"{split}{'-tencrop' if ten_crops else ''}"
            (run_dir / f"eval-{tag}.json").write_text(json.dumps({**report.to_dict(), "timing": timing}, indent=2))
            plot_confusion(report.confusion, report.classes, run_dir / f"confusion-{tag}.png",
                           f"{run_dir.name} {tag}: acc {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f}")
            summary[tag] = {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
            print(f"{tag:<22} accuracy {report.accuracy:.4f}  macro-F1 {report.macro_f1:.4f}", flush=True)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
