"""Evaluation feeds a model the pixels it was trained on, whatever the store holds."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import images_as_the_model_expects


def _part(equalized: bool):
    images = np.random.default_rng(0).integers(60, 120, (3, 48, 48), dtype=np.uint8)  # low contrast, as raw FER+
    return SimpleNamespace(images=images, equalized=equalized)


def test_raw_store_is_equalised_for_an_equalising_model():
    part = _part(equalized=False)
    got = images_as_the_model_expects(part, SimpleNamespace(preprocessing={"equalize": True}), "s.npz")
    np.testing.assert_array_equal(got[1], cv2.equalizeHist(part.images[1]))
    assert got.max() == 255 and part.images.max() < 120


def test_matching_pixels_pass_unchanged():
    part = _part(equalized=True)
    assert images_as_the_model_expects(part, SimpleNamespace(preprocessing={"equalize": True}), "s.npz") is part.images


def test_an_equalised_store_cannot_serve_a_raw_pixel_model():
    with pytest.raises(FerkitError, match="trained on raw pixels"):
        images_as_the_model_expects(_part(equalized=True), SimpleNamespace(preprocessing={"equalize": False}), "s.npz")
