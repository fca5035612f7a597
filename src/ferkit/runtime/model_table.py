"""The table `ferkit models` prints about the shipped emotion models: what each file's card records, as analyze
answers (its views, its temperature), and optionally its speed on this CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferkit.runtime.shipped import load_emotion_model, shipped_emotion_models

if TYPE_CHECKING:
    from ferkit.runtime.shipped import EmotionModel

TEST_SETS = {"fer2013": "FER2013 PrivateTest", "ferplus": "FER+ PrivateTest (majority faces)"}
LABEL_SET_NAMES = {"fer2013": "FER2013", "ferplus": "FER+"}
HEADER = ("name", "network", "classes", "weights", "size", "views", "test set", "accuracy", "balanced", "ECE")


def shipped_models_table(speed_seconds: float | None = None) -> list[tuple[str, ...]]:
    """The header, then one row per shipped emotion model; with `speed_seconds`, a crops/s column measured here."""
    rows = [HEADER + (("crops/s",) if speed_seconds else ())]
    for name in shipped_emotion_models():
        recognizer = load_emotion_model(name)
        rows.append(model_row(name, recognizer) + (_speed(recognizer, speed_seconds) if speed_seconds else ()))
    return rows


def model_row(name: str, recognizer: EmotionModel) -> tuple[str, ...]:
    card = recognizer.card
    test, marked = card.metric("PrivateTest", card.views), ""
    if test is None:  # files made before their views were recorded: the centre crop's figures
        test, marked = card.metric("PrivateTest"), " (centre)"
    private = card.calibration.splits.get("PrivateTest")
    ece = private.ece_after if private else None
    # Calibrated to another label set's PrivateTest than the accuracy's (`both`: FER2013's labels): say which.
    other_labels = card.calibration.label_set not in (None, card.label_set)
    ece_on = f" ({LABEL_SET_NAMES.get(card.calibration.label_set or '', '?')})" if other_labels else ""
    size = sum(path.stat().st_size for path in recognizer.files) / 1e6
    return (
        name,
        card.arch,
        str(len(card.classes)),
        card.weights,
        f"{size:.1f} MB",
        card.views.value,
        TEST_SETS.get(card.label_set or "", "PrivateTest"),
        _figure(test.accuracy if test else None) + marked,
        _figure(test.balanced if test else None),
        _figure(ece) + ece_on,
    )


def _speed(recognizer: EmotionModel, seconds: float) -> tuple[str]:
    from ferkit.runtime.speed import crops_per_second

    rate = crops_per_second(recognizer.predict_prepared, 64, seconds, recognizer.image_size)
    return (f"{rate:.0f} [{recognizer.kernel}]",)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
