"""Augmentation on whole batches of tensors: one affine warp per image (crop position, flip, rotation,
zoom), then random erasing, then optional mixup/cutmix. Needs torch; only training imports it."""

from __future__ import annotations

import math

import cv2
import torch
from torch.nn import functional as F

from ferkit.config import AugmentConfig

VIEW_CHUNK = 1024  # faces augmented per draw of a cached pass: part of what makes a pass the same every time


def augment_pixels(
    images_uint8: torch.Tensor, aug: AugmentConfig, out_size: int, generator: torch.Generator
) -> torch.Tensor:
    """One random view of each uint8 face (N, 1, S, S): (N, 1, out, out) floats in grey levels / 255, before the
    model's normalisation (so a teacher with other pixel statistics can be shown the very same view)."""
    # A photo is compressed before the runtime crops and equalises a face in it, so JPEG comes first.
    if aug.jpeg:
        images_uint8 = compress_some(images_uint8, aug.jpeg, generator)
    if aug.reequalize:
        images_uint8 = equalize_some(images_uint8, aug.reequalize, generator)
    images = random_affine_crop(
        images_uint8.float() / 255,
        out_size,
        generator,
        flip=aug.flip,
        rotate=aug.rotate,
        zoom=aug.zoom,
        shift=aug.shift,
    )
    images = random_degrade(
        images,
        generator,
        blur=aug.blur,
        low_res=aug.low_res,
        max_sigma=aug.blur_max_sigma,
        min_side=aug.low_res_min_side,
    )
    return random_erase(images, aug.erase, generator)


def view_pass(images_uint8: torch.Tensor, aug: AugmentConfig, out_size: int, seed: int, index: int) -> torch.Tensor:
    """Pass `index` of a cached-view schedule: every face's view, drawn from a generator of its own seed in chunks
    of fixed size, so the pass is the same whenever it is drawn again (a teacher's answers cached on it stay
    the answers on what the student sees: consistent distillation, Beyer et al. 2022)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    chunks = [
        augment_pixels(images_uint8[start : start + VIEW_CHUNK], aug, out_size, generator)
        for start in range(0, len(images_uint8), VIEW_CHUNK)
    ]
    return torch.cat(chunks) if chunks else torch.zeros(0, 1, out_size, out_size)


JPEG_QUALITIES = (10, 60)  # bench_robustness.py: quality 30 costs FER+ 3 points, quality 10 costs 10


def compress_some(images: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """JPEG-compress a share of a uint8 batch (N, 1, H, W), each face at a quality of its own: the blocking and
    ringing of a heavily compressed web photo, which the faces FER's stores hold do not show."""
    chosen = torch.nonzero(torch.rand(images.shape[0], generator=generator) < probability).flatten()
    if len(chosen) == 0:
        return images
    low, high = JPEG_QUALITIES
    qualities = torch.randint(low, high + 1, (len(chosen),), generator=generator)
    images = images.clone()
    for index, quality in zip(chosen.tolist(), qualities.tolist()):
        face = images[index, 0].numpy()
        encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        images[index, 0] = torch.from_numpy(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))
    return images


def equalize_some(images: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Histogram-equalise a share of a uint8 batch (N, 1, H, W) again, exactly as cv2.equalizeHist does. The
    runtime equalises every crop; faces stored equalised already (the Kaggle JPEGs) come out slightly changed,
    and a model that never saw that lost 0.86 points through the runtime path (issue 28)."""
    chosen = torch.nonzero(torch.rand(images.shape[0], generator=generator) < probability).flatten()
    if len(chosen) == 0:
        return images
    flat = images[chosen].reshape(len(chosen), -1).long()
    histogram = torch.zeros(len(chosen), 256, dtype=torch.long).scatter_add_(1, flat, torch.ones_like(flat))
    lowest = histogram.gt(0).long().argmax(1, keepdim=True)  # the darkest grey present maps to 0
    lowest_count = histogram.gather(1, lowest)
    spread = flat.shape[1] - lowest_count
    # float32 arithmetic and round-half-to-even, as OpenCV computes its table; tensor by tensor, because torch
    # divides a scalar by a tensor through the reciprocal, one rounding off OpenCV's (127.4999 for its 127.5)
    spread_float = spread.clamp(min=1).float()
    scale = torch.full_like(spread_float, 255.0) / spread_float
    table = ((histogram.cumsum(1) - lowest_count).float() * scale).round().clamp(0, 255)
    equalized = table.gather(1, flat).to(torch.uint8)
    one_grey = spread.flatten() == 0  # OpenCV leaves a one-grey image as it is
    equalized[one_grey] = flat[one_grey].to(torch.uint8)
    images = images.clone()
    images[chosen] = equalized.view(len(chosen), *images.shape[1:])
    return images


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


def random_degrade(
    images: torch.Tensor, generator: torch.Generator, *, blur=0.0, low_res=0.0, max_sigma=1.5, min_side=16
) -> torch.Tensor:
    """What web photos do to faces, measured as the largest losses by bench/bench_robustness.py: a share `blur`
    of the images gets a Gaussian blur (sigma uniform in 0.3..max_sigma), a share `low_res` is shrunk to a side
    in min_side..size and brought back (a small face scaled up). Both are linear, so they act the same on
    normalised pixels as on raw ones."""
    if blur:
        images = _blur_some(images, blur, max_sigma, generator)
    if low_res:
        images = _shrink_some(images, low_res, min_side, generator)
    return images


def _blur_some(images: torch.Tensor, probability: float, max_sigma: float, generator: torch.Generator) -> torch.Tensor:
    chosen = torch.nonzero(torch.rand(images.shape[0], generator=generator) < probability).flatten()
    if len(chosen) == 0:
        return images
    sigma = torch.rand(len(chosen), generator=generator) * (max_sigma - 0.3) + 0.3
    radius = math.ceil(3 * max_sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel_1d = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)
    kernel_1d = kernel_1d / kernel_1d.sum(dim=1, keepdim=True)
    channels = images.shape[1]
    # One kernel per chosen image (and channel): a grouped convolution, rows then columns.
    rows = kernel_1d.repeat_interleave(channels, 0).view(-1, 1, 1, 2 * radius + 1)
    selected = images[chosen].reshape(1, -1, *images.shape[-2:])
    padded = F.pad(selected, (radius, radius, radius, radius), mode="reflect")
    blurred = F.conv2d(F.conv2d(padded, rows, groups=rows.shape[0]), rows.transpose(2, 3), groups=rows.shape[0])
    images = images.clone()
    images[chosen] = blurred.view(len(chosen), channels, *images.shape[-2:])
    return images


def _shrink_some(images: torch.Tensor, probability: float, min_side: int, generator: torch.Generator) -> torch.Tensor:
    size = images.shape[-1]
    chosen = torch.nonzero(torch.rand(images.shape[0], generator=generator) < probability).flatten()
    if len(chosen) == 0 or min_side >= size:
        return images
    sides = torch.randint(min_side, size, (len(chosen),), generator=generator)
    images = images.clone()
    for index, side in zip(chosen.tolist(), sides.tolist()):
        small = F.interpolate(images[index : index + 1], size=(side, side), mode="area")
        images[index] = F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)[0]
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
