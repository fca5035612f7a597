"""Torch inference on uint8 face crops with a checkpoint's own preprocessing (centre or ten crops)."""

from __future__ import annotations

import contextlib

import torch

from ferkit.data.augment import center_crop, ten_crop


def normalise(images_uint8: torch.Tensor, preprocessing: dict) -> torch.Tensor:
    return (images_uint8.float() / 255 - preprocessing["mean"]) / preprocessing["std"]


@torch.no_grad()
def predict_probabilities(model, images: torch.Tensor, preprocessing: dict, *, ten_crops: bool = False,
                          batch_size: int = 256, bf16: bool = False, channels_last: bool = True) -> torch.Tensor:
    """(N, 1, S, S) uint8 at the model's image size -> (N, C) softmax probabilities."""
    model.eval()
    size = preprocessing["input_size"]
    outputs = []
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    if ten_crops:
        batch_size = max(batch_size // 10, 1)  # keeps the views per forward pass near batch_size
    for start in range(0, len(images), batch_size):
        batch = normalise(images[start:start + batch_size], preprocessing)
        crops = ten_crop(batch, size) if ten_crops else center_crop(batch, size).unsqueeze(0)
        views, n = crops.shape[:2]
        flat = crops.reshape(views * n, *crops.shape[2:])
        if channels_last:
            flat = flat.contiguous(memory_format=torch.channels_last)
        with autocast:
            logits = model(flat)
        probabilities = torch.softmax(logits.float(), dim=1).reshape(views, n, -1)
        outputs.append(probabilities.mean(dim=0))
    return torch.cat(outputs)
