"""Augmentation on whole batches of tensors: one affine warp per image (crop position, flip, rotation,
zoom), then random erasing, then optional mixup/cutmix. Needs torch; only training imports it."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def random_affine_crop(
    images: torch.Tensor, out_size: int, generator: torch.Generator, *, flip=True, rotate=0.0, zoom=0.0, shift=True
) -> torch.Tensor:
    """Warp a float batch (N, C, H, W) to (N, C, out, out): a random crop seen through a random similarity."""
    n, _, height, _ = images.shape
    uniform = lambda low, high: torch.rand(n, generator=generator) * (high - low) + low  # noqa: E731
    angle = uniform(-rotate, rotate) * math.pi / 180
    scale = uniform(1 - zoom, 1 + zoom) * out_size / height
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    margin = (height - out_size) / height if shift else 0.0
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * torch.cos(angle) * sign
    theta[:, 0, 1] = -scale * torch.sin(angle)
    theta[:, 1, 0] = scale * torch.sin(angle) * sign
    theta[:, 1, 1] = scale * torch.cos(angle)
    theta[:, 0, 2] = uniform(-margin, margin)
    theta[:, 1, 2] = uniform(-margin, margin)
    grid = F.affine_grid(theta, (n, images.shape[1], out_size, out_size), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def random_erase(
    images: torch.Tensor, probability: float, generator: torch.Generator, area=(0.02, 0.25), aspect=(0.3, 3.3)
) -> torch.Tensor:
    """Zhong et al. 2017: blank a random rectangle (with noise) in a share of the images."""
    n, _, height, width = images.shape
    chosen = torch.rand(n, generator=generator) < probability
    if not chosen.any():
        return images
    count = int(chosen.sum())
    areas = (torch.rand(count, generator=generator) * (area[1] - area[0]) + area[0]) * height * width
    log_aspect = torch.rand(count, generator=generator) * (math.log(aspect[1]) - math.log(aspect[0])) + math.log(
        aspect[0]
    )
    ratios = torch.exp(log_aspect)
    box_h = torch.sqrt(areas * ratios).clamp(1, height).long()
    box_w = torch.sqrt(areas / ratios).clamp(1, width).long()
    top = (torch.rand(count, generator=generator) * (height - box_h + 1)).long()
    left = (torch.rand(count, generator=generator) * (width - box_w + 1)).long()
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    inside = (
        (rows >= top.view(-1, 1, 1))
        & (rows < (top + box_h).view(-1, 1, 1))
        & (cols >= left.view(-1, 1, 1))
        & (cols < (left + box_w).view(-1, 1, 1))
    )
    noise = torch.rand(count, 1, height, width, generator=generator)
    images = images.clone()
    selected = images[chosen]
    images[chosen] = torch.where(inside.unsqueeze(1), noise, selected)
    return images


def mix_batch(images: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, mixup=0.0, cutmix=0.0):
    """Mixup (Zhang et al.) or CutMix (Yun et al.), chosen at random when both are on; targets are distributions."""
    if not mixup and not cutmix:
        return images, targets
    use_cutmix = cutmix > 0 and (mixup <= 0 or torch.rand(1, generator=generator).item() < 0.5)
    alpha = cutmix if use_cutmix else mixup
    lam = float(torch.distributions.Beta(alpha, alpha).sample()) if alpha else 1.0
    order = torch.randperm(images.shape[0], generator=generator)
    if use_cutmix:
        height, width = images.shape[-2:]
        cut_h, cut_w = int(height * math.sqrt(1 - lam)), int(width * math.sqrt(1 - lam))
        top = int(torch.randint(0, height - cut_h + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - cut_w + 1, (1,), generator=generator))
        images = images.clone()
        images[..., top : top + cut_h, left : left + cut_w] = images[order][..., top : top + cut_h, left : left + cut_w]
        lam = 1 - cut_h * cut_w / (height * width)
    else:
        images = lam * images + (1 - lam) * images[order]
    return images, lam * targets + (1 - lam) * targets[order]


def center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    height, width = images.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return images[..., top : top + size, left : left + size]


def ten_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) -> (10, N, C, size, size): four corners and the centre, and their mirror images."""
    height, width = images.shape[-2:]
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size)]
    crops = [images[..., top : top + size, left : left + size] for top, left in corners] + [center_crop(images, size)]
    crops += [crop.flip(-1) for crop in crops]
    return torch.stack(crops)
