"""Print the model card's tables from the metrics recorded inside shipped ONNX files, so the card and the
files cannot drift apart.

    python scripts/model_card_tables.py fer2013 fer2013-int8 ferplus
"""

from __future__ import annotations

import sys

from ferkit.card import SplitMetrics
from ferkit.runtime.shipped import emotion_model_path, load_emotion_model

VIEWS = [
    ("PublicTest", "centre"),
    ("PublicTest-tencrop", "ten"),
    ("PrivateTest", "centre"),
    ("PrivateTest-tencrop", "ten"),
]


def results_table(metrics: dict[str, SplitMetrics]) -> list[str]:
    rows = ["| split | crops | accuracy | macro-F1 |", "| --- | --- | --- | --- |"]
    for key, crops in VIEWS:
        if key in metrics:
            split = key.split("-")[0]
            rows.append(f"| {split} | {crops} | {metrics[key].accuracy:.4f} | {metrics[key].macro_f1:.4f} |")
    return rows


def recall_table(metrics: dict[str, SplitMetrics]) -> list[str]:
    keys = [key for key, _ in VIEWS if key.startswith("PrivateTest") and key in metrics]
    rows = [
        "| class | " + " | ".join(f"{key} recall | F1" for key in keys) + " |",
        "| --- |" + " --- | --- |" * len(keys),
    ]
    for name in metrics[keys[0]].classes:
        cells = " | ".join(f"{metrics[k].recall[name]:.3f} | {metrics[k].f1[name]:.3f}" for k in keys)
        rows.append(f"| {name} | {cells} |")
    return rows


def main(names: list[str]) -> None:
    for name in names:
        recognizer = load_emotion_model(name)
        card, megabytes = recognizer.card, sum(f.stat().st_size for f in recognizer.files) / 1e6
        print(f"## {name}: {emotion_model_path(name).name} ({card.arch}, {card.weights} weights, {megabytes:.1f} MB)\n")
        print("\n".join(results_table(card.metrics)), "\n")
        print("\n".join(recall_table(card.metrics)), "\n")


if __name__ == "__main__":
    main(sys.argv[1:] or ["fer2013"])
