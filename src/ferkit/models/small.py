"""Small fast CNNs: EmotionVGGNet and the basic/deep CNNs of the reference work."""

from __future__ import annotations

import torch
from torch import nn

from ferkit.models.layers import conv_act_bn, conv_bn_act, init_weights
from ferkit.models.registry import register_model


class EmotionVGGNet(nn.Module):
    """Stages of 2 x (conv, ELU, BN) + pool + dropout, then FC 64-64 (Rosebrock's EmotionVGGNet)."""

    def __init__(self, num_classes: int, stages: int = 3):
        super().__init__()
        if stages not in (3, 4):
            raise ValueError("emotion_vggnet has 3 or 4 stages")
        widths = (32, 64, 128, 256)[:stages]
        layers, channels = [], 1
        for width in widths:
            layers += [conv_act_bn(channels, width), conv_act_bn(width, width), nn.MaxPool2d(2), nn.Dropout(0.25)]
            channels = width
        self.features = nn.Sequential(*layers)
        side = 48 // 2**stages
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * side * side, 64),
            nn.ELU(inplace=True),
            nn.BatchNorm1d(64),
            nn.Dropout(0.5),
            nn.Linear(64, 64),
            nn.ELU(inplace=True),
            nn.BatchNorm1d(64),
            nn.Dropout(0.5),
            nn.Linear(64, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class PlainCNN(nn.Module):
    """Conv-BN-ReLU-pool layers, then a dense head; the reference work's cnn_basic / cnn_deep."""

    def __init__(self, convs, head, num_classes: int, dropout: float):
        super().__init__()
        layers, channels = [], 1
        for width, kernel in convs:
            layers += [conv_bn_act(channels, width, kernel), nn.MaxPool2d(2)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            channels = width
        self.features = nn.Sequential(*layers)
        side = 48 // 2 ** len(convs)
        fc, width = [nn.Flatten()], channels * side * side
        for hidden in head:
            fc += [
                nn.Linear(width, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(max(dropout, 0.25)),
            ]
            width = hidden
        self.head = nn.Sequential(*fc, nn.Linear(width, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model(description="EmotionVGGNet: conv-ELU-BN stages, FC 64-64 (stages=3 or 4)")
def emotion_vggnet(num_classes: int = 7, stages: int = 3) -> nn.Module:
    return EmotionVGGNet(num_classes, stages)


@register_model(description="3 conv layers 64/128(5x5)/256 + FC 256")
def cnn_basic(num_classes: int = 7) -> nn.Module:
    return PlainCNN([(64, 3), (128, 5), (256, 3)], [256], num_classes, dropout=0.0)


@register_model(description="4 conv layers 64/128(5x5)/512/512 with dropout + FC 256-512")
def cnn_deep(num_classes: int = 7) -> nn.Module:
    return PlainCNN([(64, 3), (128, 5), (512, 3), (512, 3)], [256, 512], num_classes, dropout=0.25)
