"""`ferkit data info`: counts per split and class, as a table and a bar chart."""

from __future__ import annotations

from pathlib import Path

from ferkit.data.store import FerStore


def _age_range_counts(store: FerStore) -> dict[str, dict[str, int]]:
    """Age stores have a class per year: the table groups them into the ranges the runtime reports."""
    from ferkit.labels import age_range

    table = {}
    for split, row in store.counts().items():
        grouped: dict[str, int] = {}
        for year, count in row.items():
            grouped[age_range(int(year))] = grouped.get(age_range(int(year)), 0) + count
        table[split] = grouped
    return table


def counts_table(store: FerStore) -> str:
    if store.label_set == "age":
        counts = _age_range_counts(store)
        columns = list(next(iter(counts.values())))
        return _format(counts, columns)
    counts = store.counts()
    columns = list(store.classes) + (["none"] if any("none" in row for row in counts.values()) else [])
    return _format(counts, columns)


def _format(counts: dict[str, dict[str, int]], columns: list[str]) -> str:
    width = max(len(c) for c in columns + ["total"]) + 1
    lines = [f"{'split':<12}" + "".join(f"{c:>{width}}" for c in columns) + f"{'total':>{width}}"]
    for split, row in counts.items():
        cells = [row.get(c, 0) for c in columns]
        lines.append(f"{split:<12}" + "".join(f"{v:>{width}}" for v in cells) + f"{sum(cells):>{width}}")
    return "\n".join(lines)


def plot_counts(store: FerStore, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    counts = store.counts()
    classes = list(store.classes)
    positions = np.arange(len(classes))
    width = 0.8 / max(len(counts), 1)
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for offset, (split, row) in enumerate(counts.items()):
        values = [row.get(c, 0) for c in classes]
        bars = axes.bar(positions + offset * width, values, width, label=f"{split} ({sum(row.values()):,})")
        axes.bar_label(bars, fontsize=7)
    axes.set_xticks(positions + width * (len(counts) - 1) / 2, classes)
    axes.set_ylabel("images")
    axes.set_title(f"{store.source} store: images per class ({store.label_set})")
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
