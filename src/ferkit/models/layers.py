"""Small building blocks shared by the model families."""

from __future__ import annotations

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
