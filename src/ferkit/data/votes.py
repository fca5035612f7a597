"""FER+ labels from its ten annotators' votes (columns: the 8 emotions, then "unknown" and "not a face")."""

from __future__ import annotations

import numpy as np

from ferkit.labels import FERPLUS_CLASSES

FERPLUS_EMOTIONS = len(FERPLUS_CLASSES)


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """Barsoum et al.'s majority vote, the label FER+ results are reported on: a lone vote is dropped as an
    outlier, and a face keeps the emotion that holds more than half the remaining votes; -1 where no
    emotion does, or where "unknown" or "not a face" wins. FER+ keeps 25,045 / 3,191 / 3,137 faces so."""
    counted = np.where(votes > 1, votes, 0).astype(np.int32)
    winner = counted.argmax(axis=1)
    has_majority = 2 * counted.max(axis=1) > counted.sum(axis=1)
    return np.where(has_majority & (winner < FERPLUS_EMOTIONS), winner, -1).astype(np.int16)


def ferplus_plurality(votes: np.ndarray, columns: list[int]) -> np.ndarray:
    """The emotion among `columns` (in their order) with the most votes, ties to the first; -1 where
    "unknown" or "not a face" has more. Vote-trained models learn from these faces too: a vote
    distribution teaches even where no emotion holds a majority."""
    emotions, others = votes[:, columns], votes[:, FERPLUS_EMOTIONS:]
    favoured = (emotions.max(axis=1) >= others.max(axis=1)) & (emotions.max(axis=1) > 0)
    return np.where(favoured, emotions.argmax(axis=1), -1).astype(np.int16)
