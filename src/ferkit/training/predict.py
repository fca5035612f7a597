"""Torch inference on uint8 face crops with a checkpoint's own preprocessing (centre or ten crops)."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ferkit.card import CardHolder, Preprocessing
from ferkit.views import Views


def normalise(images_uint8: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    return (images_uint8.float() / 255 - preprocessing.mean) / preprocessing.std


@torch.no_grad()
def predict_probabilities(
    model,
    images: torch.Tensor,
    preprocessing: Preprocessing,
    *,
    views: Views = Views.CENTRE,
    batch_size: int = 256,
    bf16: bool = False,
    channels_last: bool = True,
) -> torch.Tensor:
    """(N, 1, S, S) uint8 at the model's image size -> (N, C) softmax probabilities, averaged over the views (cut
    as the runtime cuts them, views.py)."""
    model.eval()
    size = preprocessing.input_size
    outputs = []
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    step = max(batch_size // views.per_face, 1)  # keeps the crops per forward pass near batch_size
    for start in range(0, len(images), step):
        crops = torch.from_numpy(np.ascontiguousarray(views.crops(images[start : start + step, 0].numpy(), size)))
        count, n = crops.shape[:2]
        flat = normalise(crops.reshape(count * n, 1, size, size), preprocessing)
        if channels_last:
            flat = flat.contiguous(memory_format=torch.channels_last)
        with autocast:
            logits = model(flat)
        outputs.append(torch.softmax(logits.float(), dim=1).reshape(count, n, -1).mean(dim=0))
    return torch.cat(outputs)


class CheckpointPredictor(CardHolder):
    """A torch checkpoint behind the same interface as the runtime's ONNX EmotionRecognizer."""

    def __init__(self, checkpoint_path, threads: int = 0):
        from ferkit.training.checkpoint import load_checkpoint, model_from_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self.model, self.card = model_from_checkpoint(load_checkpoint(checkpoint_path))
        self.model = self.model.to(memory_format=torch.channels_last)
        self.classes = self.card.classes

    def predict_prepared(self, faces, views: Views = Views.CENTRE):
        from ferkit.faces import resize_faces

        images = torch.from_numpy(resize_faces(faces, self.image_size)).unsqueeze(1)
        return predict_probabilities(self.model, images, self.preprocessing, views=views).numpy()
