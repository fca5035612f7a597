"""Pre-activation ResNet (He et al. 2016, "Identity Mappings in Deep Residual Networks")."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ferkit.models.layers import classifier_head, init_weights
from ferkit.models.registry import register_model


class PreActBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # The projection sees the pre-activated input, as in the paper's full pre-activation unit.
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    def __init__(
        self,
        depths,
        num_classes: int,
        widths=(64, 128, 256, 512),
        dropout: float = 0.0,
        head_mix: tuple[float, ...] | None = None,
    ):
        super().__init__()
        # A 3x3 stride-1 stem: a 48x48 face cannot afford ImageNet's 7x7/2 + max-pool.
        self.stem = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        blocks, channels = [], widths[0]
        for stage, (depth, width) in enumerate(zip(depths, widths)):
            for index in range(depth):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(PreActBlock(channels, width, stride))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier_head(channels, num_classes, head_mix)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(self.dropout(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)))


@register_model(input_size=44, description="Pre-activation ResNet34 (He et al. 2016), 3x3 stem")
def resnet34_v2(num_classes: int = 7, dropout: float = 0.2) -> nn.Module:
    return PreActResNet([3, 4, 6, 3], num_classes, dropout=dropout)


@register_model(input_size=44, description="Pre-activation ResNet18 at half width: a fast residual baseline")
def resnet18_v2_half(num_classes: int = 7, dropout: float = 0.2, head_mix=None) -> nn.Module:
    return PreActResNet([2, 2, 2, 2], num_classes, widths=(32, 64, 128, 256), dropout=dropout, head_mix=head_mix)


@register_model(
    input_size=44,
    description="Pre-activation ResNet18 at quarter width: a quarter of the half width's multiply-adds, for CPUs "
    "without VNNI",
)
def resnet18_v2_quarter(num_classes: int = 7, dropout: float = 0.1, head_mix=None) -> nn.Module:
    return PreActResNet([2, 2, 2, 2], num_classes, widths=(16, 32, 64, 128), dropout=dropout, head_mix=head_mix)
