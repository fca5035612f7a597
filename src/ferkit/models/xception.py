"""mini-Xception (Arriaga, Ploeger & Valdenegro 2017): depthwise-separable residual modules, ~60k parameters."""

from __future__ import annotations

import torch
from torch import nn

from ferkit.models.layers import conv_bn_act, init_weights
from ferkit.models.registry import register_model


def separable(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class XceptionModule(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False), nn.BatchNorm2d(out_channels)
        )
        self.body = nn.Sequential(
            separable(in_channels, out_channels),
            nn.ReLU(inplace=True),
            separable(out_channels, out_channels),
            nn.MaxPool2d(3, stride=2, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.residual(x)


class MiniXception(nn.Module):
    def __init__(self, num_classes: int, widths=(16, 32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_act(1, 8), conv_bn_act(8, 8))
        modules, channels = [], 8
        for width in widths:
            modules.append(XceptionModule(channels, width))
            channels = width
        self.modules_ = nn.Sequential(*modules)
        # The paper ends in a conv to the classes and global average pooling: no dense layer at all.
        self.classifier = nn.Conv2d(channels, num_classes, 3, padding=1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.modules_(self.stem(x))).mean(dim=(2, 3))


@register_model(input_size=48, description="mini-Xception (Arriaga et al. 2017), ~60k params")
def mini_xception(num_classes: int = 7) -> nn.Module:
    return MiniXception(num_classes)
