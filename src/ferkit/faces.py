"""Face-crop image operations shared by training, evaluation and the torch-free runtime (numpy + OpenCV),
so a model sees the same pixels wherever it runs."""

from __future__ import annotations

import cv2
import numpy as np


def resize_faces(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) uint8 -> (N, size, size) uint8; area filter when shrinking, bilinear when enlarging."""
    if images.shape[1:] == (size, size):
        return images
    interpolation = cv2.INTER_AREA if images.shape[1] > size else cv2.INTER_LINEAR
    return (
        np.stack([cv2.resize(image, (size, size), interpolation=interpolation) for image in images])
        if len(images)
        else images.reshape(0, size, size)
    )


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, BGR, BGRA; 8 or 16 bit) -> 8-bit gray."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image.reshape(image.shape[:2])


def prepare_faces(crops: list[np.ndarray], image_size: int, equalize: bool) -> np.ndarray:
    """Face crops as a detector cuts them -> (N, image_size, image_size) uint8, as the model was trained."""
    faces = []
    for crop in crops:
        gray = to_gray(crop)
        interpolation = cv2.INTER_AREA if gray.shape[0] > image_size else cv2.INTER_LINEAR
        face = cv2.resize(gray, (image_size, image_size), interpolation=interpolation)
        faces.append(cv2.equalizeHist(face) if equalize else face)
    return np.stack(faces) if faces else np.zeros((0, image_size, image_size), np.uint8)
