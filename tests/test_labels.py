"""One vocabulary across label sets: a FER2013 model teaches FER+'s faces, a FER+ model is read on FER2013's."""

import numpy as np
import pytest

from ferkit.labels import (
    FER2013_CLASSES,
    FERPLUS_CLASSES,
    canonical,
    class_map,
    remap_probabilities,
    restrict_probabilities,
)


def test_each_emotion_has_one_spelling():
    assert [canonical(name) for name in FERPLUS_CLASSES] == [
        "neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"
    ]  # fmt: skip
    assert {canonical(name) for name in FER2013_CLASSES} == set(FER2013_CLASSES)


def test_a_fer2013_answer_in_ferplus_columns():
    assert class_map(FER2013_CLASSES, FERPLUS_CLASSES) == [6, 3, 5, 4, 0, 1, 2, -1]
    probabilities = np.array([[0.1, 0.05, 0.05, 0.4, 0.2, 0.1, 0.1]], np.float32)  # angry ... neutral
    moved = remap_probabilities(probabilities, FER2013_CLASSES, FERPLUS_CLASSES)
    assert moved[0].tolist() == pytest.approx([0.1, 0.4, 0.1, 0.2, 0.1, 0.05, 0.05, 0.0])
    with pytest.raises(ValueError, match="contempt"):
        class_map(FERPLUS_CLASSES, FER2013_CLASSES)  # contempt has no FER2013 column to go to


def test_a_ferplus_answer_read_in_fer2013s_classes():
    """Contempt's share is left out and the rest renormalised: the answer is the likeliest of the seven."""
    probabilities = np.array([[0.2, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0, 0.4]])
    seven = restrict_probabilities(probabilities, FERPLUS_CLASSES, FER2013_CLASSES)
    assert seven.sum() == pytest.approx(1) and FER2013_CLASSES[seven.argmax()] == "neutral"
    assert seven[0, FER2013_CLASSES.index("happy")] == pytest.approx(0.1 / 0.6)
    with pytest.raises(ValueError, match="contempt"):
        restrict_probabilities(seven, FER2013_CLASSES, FERPLUS_CLASSES)
