"""Small building blocks shared by the model families."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_act(in_channels: int, out_channels: int, kernel: int = 3, act: type[nn.Module] = nn.ReLU, **conv_kwargs):
    """Conv -> BN -> activation; the conv has no bias because BN adds one."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False, **conv_kwargs),
        nn.BatchNorm2d(out_channels),
        act(inplace=True),
    )


def conv_act_bn(in_channels: int, out_channels: int, kernel: int = 3, act: type[nn.Module] = nn.ELU):
    """Conv -> activation -> BN, the order EmotionVGGNet uses."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2),
        act(inplace=True),
        nn.BatchNorm2d(out_channels),
    )


def init_weights(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
    return model


class MixedHeads(nn.Linear):
    """Several classifier heads over the same features, one per teacher (e.g. FER+'s votes and a FER2013 teacher).

    Training sees every head's logits side by side (heads x classes columns), so each head gets its own loss;
    evaluation and export see one answer, the log of the heads' probabilities mixed by `mix`, so every consumer
    (validation, ONNX, the runtime's temperature) reads an ordinary classifier. It is a Linear with the heads'
    rows stacked, so a one-head checkpoint's `fc` starts every head (training/trainer.py).
    """

    def __init__(self, in_features: int, classes: int, mix: tuple[float, ...]):
        if len(mix) < 2 or abs(sum(mix) - 1) > 1e-6 or min(mix) < 0:
            raise ValueError(f"head mix {mix}: two or more non-negative weights summing to 1")
        super().__init__(in_features, classes * len(mix))
        self.classes = classes
        self.register_buffer("mix", torch.tensor(mix, dtype=torch.float32).view(1, -1, 1), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = super().forward(features)
        if self.training:
            return logits
        probabilities = torch.softmax(logits.view(logits.shape[0], -1, self.classes), dim=2)
        return torch.log((probabilities * self.mix).sum(dim=1).clamp_min(1e-12))


def classifier_head(in_features: int, classes: int, head_mix: tuple[float, ...] | None = None) -> nn.Linear:
    """A plain Linear head, or MixedHeads when a mix of several heads is asked for."""
    if head_mix is None:
        return nn.Linear(in_features, classes)
    return MixedHeads(in_features, classes, tuple(head_mix))
