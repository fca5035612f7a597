"""An exponential moving average of a network's weights over training steps (`train.ema_decay`).

The average of the last few hundred steps' weights answers more steadily from epoch to epoch than the last
step's weights (Polyak & Juditsky 1992; timm's ModelEmaV2), whose validation figures swing enough that the epoch
chosen is partly luck. The average is what a run validates, selects and exports; the optimiser goes on moving the
weights it averages. Measured here it bought steadiness, not accuracy (README, Training), so it is off by default.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """`model` holds the average; `update` after each optimiser step moves it `1 - decay` of the way to the
    network's weights. Batch-norm statistics are averaged like weights; integer buffers (batch counts) copied."""

    def __init__(self, network: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(network).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        for average, current in zip(self.model.state_dict().values(), network.state_dict().values(), strict=True):
            if average.dtype.is_floating_point:
                average.lerp_(current, 1.0 - self.decay)
            else:
                average.copy_(current)

    def restart_from(self, network: nn.Module) -> None:
        """Average from these weights on (a run started from another run's checkpoint)."""
        self.model.load_state_dict(network.state_dict())
