"""Class names and their orders. Every store and model records which label set it uses."""

from __future__ import annotations

from dataclasses import dataclass

# fer2013.csv numbers emotions in this order; ferkit stores FER2013 labels by these indices.
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Disgust merged into angry, as some published work does (Tang 2013 kept 7; others used 6).
FER2013_6_CLASSES = ("angry", "fear", "happy", "sad", "surprise", "neutral")
# FER+ vote columns, in the order of label.csv and fer2013new.csv.
FERPLUS_VOTE_COLUMNS = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF",
)
FERPLUS_CLASSES = FERPLUS_VOTE_COLUMNS[:8]
FERPLUS_7_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "fear", "contempt")

SPLITS = ("Training", "PublicTest", "PrivateTest")


@dataclass(frozen=True)
class LabelSet:
    name: str
    classes: tuple[str, ...]


LABEL_SETS = {
    "fer2013": LabelSet("fer2013", FER2013_CLASSES),
    "fer2013-6": LabelSet("fer2013-6", FER2013_6_CLASSES),
    "ferplus": LabelSet("ferplus", FERPLUS_CLASSES),
    "ferplus-7": LabelSet("ferplus-7", FERPLUS_7_CLASSES),
}


def merged_label_set(label_set: str) -> str:
    """The label set with disgust folded into anger."""
    return {"fer2013": "fer2013-6", "ferplus": "ferplus-7"}[label_set]


def disgust_merge_map(label_set: str) -> list[int]:
    """Index map from a full label set to its merged one (disgust -> angry/anger)."""
    full = LABEL_SETS[label_set].classes
    merged = LABEL_SETS[merged_label_set(label_set)].classes
    anger = full[0] if label_set == "fer2013" else "anger"
    return [merged.index(anger if name == "disgust" else name) for name in full]
