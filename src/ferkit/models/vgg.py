"""VGG-style networks: Khaireddin & Chen 2021, VGG19-BN, Barsoum et al.'s VGG13 for FER+, and ferkit's own."""

from __future__ import annotations

import torch
from torch import nn

from ferkit.models.layers import conv_bn_act, init_weights
from ferkit.models.registry import register_model


class VGG(nn.Module):
    """Conv stages (each a list of widths, then max-pool), then a fully connected head."""

    def __init__(self, stages, head, num_classes, input_size, dropout=0.2, stage_dropout=0.0, global_pool=False):
        super().__init__()
        layers, channels = [], 1
        for widths in stages:
            for width in widths:
                layers.append(conv_bn_act(channels, width))
                channels = width
            layers.append(nn.MaxPool2d(2))
            if stage_dropout:
                layers.append(nn.Dropout(stage_dropout))
        self.features = nn.Sequential(*layers)
        side = 1 if global_pool else input_size // 2 ** len(stages)
        self.pool = nn.AdaptiveAvgPool2d(1) if global_pool else nn.Identity()
        fc, width = [], channels * side * side
        for hidden in head:
            fc += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.head = (
            nn.Sequential(*fc, nn.Linear(width, num_classes))
            if fc
            else nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes))
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1))


KHAIREDDIN_STAGES = [[64, 64], [128, 128], [256, 256], [512, 512]]


@register_model(input_size=40, description="Khaireddin & Chen 2021 VGG: 4x2 conv-BN-ReLU, FC 4096-4096")
def vgg_khaireddin(num_classes: int = 7, dropout: float = 0.2) -> nn.Module:
    return VGG(KHAIREDDIN_STAGES, [4096, 4096], num_classes, input_size=40, dropout=dropout)


@register_model(input_size=40, description="Khaireddin's conv stages, FC 1024-1024: 4x fewer params, fits a 30 MB ONNX")
def vgg_fer(num_classes: int = 7, dropout: float = 0.3) -> nn.Module:
    return VGG(KHAIREDDIN_STAGES, [1024, 1024], num_classes, input_size=40, dropout=dropout)


@register_model(input_size=44, description="VGG19 with batch norm on 44x44 crops (ten-crop evaluation)")
def vgg19_bn(num_classes: int = 7, dropout: float = 0.5) -> nn.Module:
    stages = [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4]
    return VGG(stages, [], num_classes, input_size=44, dropout=dropout, global_pool=True)


# Barsoum et al. feed the whole 48x48 face upscaled to 64x64 and jitter it with affine shifts; here the face is
# upscaled to 72 and a 64x64 crop moves over it, which gives the same shifts and a meaningful ten-crop.
@register_model(image_size=72, input_size=64, description="Barsoum et al. 2016 VGG13 for FER+ (64x64 crops)")
def vgg13_ferplus(num_classes: int = 8, dropout: float = 0.5) -> nn.Module:
    stages = [[64, 64], [128, 128], [256] * 3, [256] * 3]
    return VGG(stages, [1024, 1024], num_classes, input_size=64, dropout=dropout, stage_dropout=0.25)


AGE_STAGES = [[32, 32], [64, 64], [128, 128], [256, 256]]


@register_model(
    image_size=64, input_size=56, description="Age from a 64x64 face: VGG stages 32-256, global pool, FC 256"
)
def age_vgg(num_classes: int = 101, dropout: float = 0.3) -> nn.Module:
    return VGG(AGE_STAGES, [256], num_classes, input_size=56, dropout=dropout, global_pool=True)


# Half the widths and one convolution a stage where the maps are large: 37 MFLOPs, for a student taught by age_vgg.
@register_model(image_size=64, input_size=56, description="age_vgg slimmed: stages 16 / 32 / 64-64 / 128, FC 128")
def age_vgg_small(num_classes: int = 101, dropout: float = 0.3) -> nn.Module:
    return VGG([[16], [32], [64, 64], [128]], [128], num_classes, input_size=56, dropout=dropout, global_pool=True)


# Half the widths costs a quarter of the multiply-adds: the age network then costs less per face than the emotion one.
@register_model(image_size=64, input_size=56, description="age_vgg at half width (stages 16-128, FC 128)")
def age_vgg_half(num_classes: int = 101, dropout: float = 0.3) -> nn.Module:
    stages = [[width // 2 for width in stage] for stage in AGE_STAGES]
    return VGG(stages, [128], num_classes, input_size=56, dropout=dropout, global_pool=True)
