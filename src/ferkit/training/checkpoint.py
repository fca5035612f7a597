"""Checkpoints that describe themselves: architecture, labels and preprocessing travel with the weights."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ferkit.atomic import atomic_write
from ferkit.card import ModelCard
from ferkit.errors import FerkitError
from ferkit.models import create_model


@dataclass
class Checkpoint:
    """What a run writes after each epoch (`last.pt`, `best.pt`), typed: the weights and their card, and for
    resuming, the optimiser, schedule and random states. The file is a torch payload of plain keys (the card
    under "meta"), so files written before this type load as they are."""

    model: dict[str, torch.Tensor]
    card: ModelCard
    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    optimizer: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    rng: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    # With train.ema_decay, `model` holds the averaged weights (what the run answers with) and `trained` the
    # weights the optimiser moves, which a resumed run goes on from.
    trained: dict[str, torch.Tensor] | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "schedule": self.schedule,
            "epoch": self.epoch,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "rng": self.rng,
            "config": self.config,
            "meta": self.card.to_dict(),
        } | ({"trained": self.trained} if self.trained is not None else {})

    @classmethod
    def from_payload(cls, payload: dict[str, Any], where: str = "checkpoint") -> Checkpoint:
        # Checkpoints written before 2026-12-04 call the score best_val_acc (it held minus the MAE for age models).
        best_score = payload.get("best_score", payload.get("best_val_acc", -math.inf))
        return cls(
            model=payload["model"],
            card=ModelCard.from_dict(payload["meta"], where),
            epoch=payload.get("epoch", 0),
            best_score=best_score,
            best_epoch=payload.get("best_epoch", 0),
            optimizer=payload.get("optimizer", {}),
            schedule=payload.get("schedule", {}),
            rng=payload.get("rng", {}),
            config=payload.get("config", {}),
            trained=payload.get("trained"),
        )


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


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Atomic: a run killed mid-save leaves the previous checkpoint intact."""
    atomic_write(path, lambda tmp: torch.save(checkpoint.payload(), tmp))


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise FerkitError(f"{path}: no such checkpoint")
    try:
        # The payload holds numpy and Python RNG states, which weights_only refuses: load only trusted files.
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise FerkitError(f"{path}: not a ferkit checkpoint ({error})") from None
    if not isinstance(payload, dict) or not {"model", "meta"} <= payload.keys():
        raise FerkitError(f"{path}: not a ferkit checkpoint (no weights and card)")
    return Checkpoint.from_payload(payload, str(path))


def model_from_checkpoint(checkpoint: Checkpoint) -> tuple[torch.nn.Module, ModelCard]:
    card = checkpoint.card
    model = create_model(card.arch, num_classes=len(card.classes), **card.model_kwargs)
    model.load_state_dict(checkpoint.model)
    return model.eval(), card


def with_teacher_share(checkpoint: Checkpoint, share: float, where: str = "checkpoint") -> Checkpoint:
    """The checkpoint of a two-head network (data.teacher_head) answering with `share` of its answer from the
    teacher's head: the mix is chosen after training (scripts/head_mix.py), the weights stay as they are."""
    card = checkpoint.card
    if not card.model_kwargs.get("head_mix"):
        raise FerkitError(f"{where}: one head only; a teacher's share needs a run with data.teacher_head")
    if not 0 <= share <= 1:
        raise FerkitError(f"teacher share {share}: a share between 0 and 1")
    return replace(checkpoint, card=card.with_model_kwargs(head_mix=[1 - share, share]))
