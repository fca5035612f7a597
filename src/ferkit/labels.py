"""Class names and their orders. Every store and model records which label set it uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# fer2013.csv numbers emotions in this order; ferkit stores FER2013 labels by these indices.
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Disgust merged into angry, as some published work does (Tang 2013 kept 7; others used 6).
FER2013_6_CLASSES = ("angry", "fear", "happy", "sad", "surprise", "neutral")
# FER+ vote columns, in the order of label.csv and fer2013new.csv.
FERPLUS_VOTE_COLUMNS = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
FERPLUS_CLASSES = FERPLUS_VOTE_COLUMNS[:8]
FERPLUS_7_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "fear", "contempt")

SPLITS = ("Training", "PublicTest", "PrivateTest")

# FER+ spells three of FER2013's emotions as nouns; one vocabulary lets a model of one label set teach or be
# compared with a model of the other.
SYNONYMS = {"happiness": "happy", "sadness": "sad", "anger": "angry"}


def canonical(name: str) -> str:
    """The one spelling of an emotion whichever label set names it: happiness -> happy, anger -> angry."""
    return SYNONYMS.get(name, name)


def class_map(source: tuple[str, ...], target: tuple[str, ...]) -> list[int]:
    """For each target class, the source class of the same emotion, or -1 where the source has none (FER+'s
    contempt for a FER2013 model). Every source class must have a place in the target."""
    names = [canonical(name) for name in source]
    missing = sorted(set(names) - {canonical(name) for name in target})
    if missing:
        raise ValueError(f"classes {missing} have no place among {list(target)}")
    return [names.index(canonical(name)) if canonical(name) in names else -1 for name in target]


def remap_probabilities(probabilities: np.ndarray, source: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
    """(N, len(source)) probabilities -> (N, len(target)), each emotion in its target column, 0 where the source
    has no such class."""
    mapping = class_map(source, target)
    out = np.zeros((len(probabilities), len(target)), dtype=probabilities.dtype)
    for column, index in enumerate(mapping):
        if index >= 0:
            out[:, column] = probabilities[:, index]
    return out


def restrict_probabilities(probabilities: np.ndarray, source: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
    """A model's probabilities over `source` read in a label set it covers (`target`): each target emotion's
    column, renormalised, so a FER+ model's answer on FER2013's faces is the likeliest of FER2013's seven
    (contempt is not one of them)."""
    names = [canonical(name) for name in source]
    missing = [name for name in target if canonical(name) not in names]
    if missing:
        raise ValueError(f"the model has no class for {missing}")
    kept = probabilities[:, [names.index(canonical(name)) for name in target]]
    renormalised: np.ndarray = kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-12)
    return renormalised


def in_classes(probabilities: np.ndarray, source: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
    """A model's probabilities read in a store's classes: as they are where both name the same emotions in the
    same order (FER+'s happiness is happy), else restricted to the store's (restrict_probabilities)."""
    if tuple(map(canonical, source)) == tuple(map(canonical, target)):
        return probabilities
    return restrict_probabilities(probabilities, source, target)


# Age models predict a distribution over whole years 0..100 (older ages count as 100).
MAX_AGE = 100
AGE_CLASSES = tuple(str(age) for age in range(MAX_AGE + 1))
AGE_RANGES = ((0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, MAX_AGE))
UTKFACE_GENDERS = ("male", "female")
UTKFACE_RACES = ("white", "black", "asian", "indian", "other")


def age_range(age: float) -> str:
    """The range an age estimate falls in: 0-2, 3-9, 10-19, ..., 60-69, 70+."""
    years = int(round(age))
    for low, high in AGE_RANGES:
        if low <= years <= high:
            return f"{low}+" if high == MAX_AGE else f"{low}-{high}"
    return f"{AGE_RANGES[-1][0]}+"


@dataclass(frozen=True)
class LabelSet:
    name: str
    classes: tuple[str, ...]


LABEL_SETS = {
    "fer2013": LabelSet("fer2013", FER2013_CLASSES),
    "fer2013-6": LabelSet("fer2013-6", FER2013_6_CLASSES),
    "ferplus": LabelSet("ferplus", FERPLUS_CLASSES),
    "ferplus-7": LabelSet("ferplus-7", FERPLUS_7_CLASSES),
    "age": LabelSet("age", AGE_CLASSES),
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
