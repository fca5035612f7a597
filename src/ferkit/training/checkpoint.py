"""Checkpoints that describe themselves: architecture, labels and preprocessing travel with the weights."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ferkit.atomic import atomic_write
from ferkit.card import ModelCard
from ferkit.errors import FerkitError
from ferkit.models import create_model


def rng_state(generator: torch.Generator) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def restore_rng(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(payload: dict, path: Path) -> None:
    """Atomic: a run killed mid-save leaves the previous checkpoint intact."""
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise FerkitError(f"{path}: no such checkpoint")
    try:
        # The payload holds numpy and Python RNG states, which weights_only refuses: load only trusted files.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise FerkitError(f"{path}: not a ferkit checkpoint ({error})") from None


def model_from_checkpoint(checkpoint: dict) -> tuple[torch.nn.Module, ModelCard]:
    card = ModelCard.from_dict(checkpoint["meta"], "checkpoint")
    model = create_model(card.arch, num_classes=len(card.classes), **card.extra.get("model_kwargs", {}))
    model.load_state_dict(checkpoint["model"])
    return model.eval(), card


def with_teacher_share(checkpoint: dict, share: float, where: str = "checkpoint") -> dict:
    """The checkpoint of a two-head network (data.teacher_head) answering with `share` of its answer from the
    teacher's head: the mix is chosen after training (scripts/head_mix.py), the weights stay as they are."""
    card = ModelCard.from_dict(checkpoint["meta"], where)
    kwargs = card.extra.get("model_kwargs", {})
    if not kwargs.get("head_mix"):
        raise FerkitError(f"{where}: one head only; a teacher's share needs a run with data.teacher_head")
    if not 0 <= share <= 1:
        raise FerkitError(f"teacher share {share}: a share between 0 and 1")
    extra = {**card.extra, "model_kwargs": {**kwargs, "head_mix": [1 - share, share]}}
    return {**checkpoint, "meta": replace(card, extra=extra).to_dict()}
