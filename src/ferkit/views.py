"""Which views of each face a classifier answers on: one typed value (`Views`) from every door (the CLI's
`--views`, AnalyzerOptions, batch, Python) to the one place that builds the crops, runs the network and applies
the temperature (runtime/recognizer.py). Numpy only, so the card and the torch-free runtime share it."""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from ferkit.errors import FerkitError


def center_crops(images: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S) -> (1, N, size, size)."""
    top = (images.shape[1] - size) // 2
    left = (images.shape[2] - size) // 2
    return images[None, :, top : top + size, left : left + size]


def ten_crops(images: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S) -> (10, N, size, size): four corners and the centre, then their mirror images."""
    height, width = images.shape[1:]
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size)]
    crops = [images[:, top : top + size, left : left + size] for top, left in corners] + [center_crops(images, size)[0]]
    crops += [crop[:, :, ::-1] for crop in crops]
    return np.stack(crops)


class Views(StrEnum):
    """Which views of each face a classifier answers on; their answers, each at the model's temperature, are
    averaged (runtime/recognizer.py). One value from every door (CLI `--views`, batch, Python) to that one place.
    A face and its mirror show the same expression: the mirror average gained 1.0-1.3 points on FER2013's test
    splits through the runtime path for fer2013-resnet (MODEL_CARD.md); a model trained on mirror-averaged targets
    (student recipes) has folded it in and needs the centre view alone."""

    CENTRE = "centre"  # the centre crop
    MIRROR = "mirror"  # the centre crop and its mirror image: twice the classifier's work
    TEN = "ten"  # four corners and the centre, and their mirror images: ten times the work

    @classmethod
    def parse(cls, text: str | Views) -> Views:
        try:
            return cls(text)
        except ValueError:
            raise FerkitError(f"unknown views {text!r}; known: {', '.join(item.value for item in cls)}") from None

    def crops(self, faces: np.ndarray, size: int) -> np.ndarray:
        """(N, S, S) faces -> (views, N, size, size) crops."""
        if self is Views.TEN:
            return ten_crops(faces, size)
        centre = center_crops(faces, size)
        if self is Views.MIRROR:
            return np.concatenate([centre, center_crops(faces[:, :, ::-1], size)])
        return centre

    @property
    def per_face(self) -> int:
        """Crops each face is read on."""
        return {Views.CENTRE: 1, Views.MIRROR: 2, Views.TEN: 10}[self]

    @property
    def metric_suffix(self) -> str:
        """How a card names a split's figures measured on these views ("PublicTest", "PublicTest-mirror", ...)."""
        return {Views.CENTRE: "", Views.MIRROR: "-mirror", Views.TEN: "-tencrop"}[self]


VIEW_NAMES = tuple(views.value for views in Views)  # what a flag, a form field or an options answer accepts
