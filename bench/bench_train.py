"""Training throughput of a model (default vgg_khaireddin) on this CPU: ferkit's training step against a
plain fp32 eager loop measured in the same run, on the same batches.

    python bench/bench_train.py [--model vgg_khaireddin] [--batch 128] [--steps 20] [--threads 2] [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from ferkit.config import AugmentConfig, OptimConfig
from ferkit.cpu import cpu_line
from ferkit.data.augment import random_affine_crop, random_erase
from ferkit.models import create_model, get_spec
from ferkit.training.losses import soft_cross_entropy
from ferkit.training.optim import create_optimizer
from ferkit.training.trainer import native_bf16


def measure(model_name, batch, steps, *, bf16, channels_last, compile_model=False) -> float:
    """Images per second for augment + forward + backward + SGD step, after 3 warm-up steps."""
    torch.manual_seed(0)
    spec = get_spec(model_name)
    model = create_model(model_name).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if compile_model else model
    optimizer = create_optimizer(model, OptimConfig())
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 1, spec.image_size, spec.image_size), dtype=torch.uint8)
    targets = torch.nn.functional.one_hot(torch.randint(0, 7, (batch,)), 7).float()
    aug = AugmentConfig()
    started = None
    for step in range(steps + 3):
        if step == 3:
            started = time.perf_counter()
        x = random_affine_crop(images.float() / 255, spec.input_size, generator, rotate=aug.rotate, zoom=aug.zoom)
        x = random_erase(x, aug.erase, generator)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            logits = forward(x)
        loss = soft_cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg_khaireddin")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true", help="also try torch.compile (slow first step)")
    args = parser.parse_args()
    print(cpu_line(args.threads or None))
    torch.set_num_threads(args.threads)
    variants = {
        "fp32 eager (baseline)": dict(bf16=False, channels_last=False),
        "fp32 channels-last": dict(bf16=False, channels_last=True),
        "bf16 autocast channels-last (ferkit default)": dict(bf16=True, channels_last=True),
    }
    if args.compile:
        variants["bf16 channels-last + torch.compile"] = dict(bf16=True, channels_last=True, compile_model=True)
    print(f"{args.model}, batch {args.batch}, {args.steps} steps, {args.threads} threads")
    if not native_bf16():
        print("this CPU has no native bf16 (emulated: the bf16 rows show why `ferkit train` uses fp32 here)")
    baseline = None
    for name, options in variants.items():
        rate = measure(args.model, args.batch, args.steps, **options)
        baseline = baseline or rate
        print(f"{name:<46} {rate:8.1f} images/s  {rate / baseline:5.2f}x  (epoch of 28,709: {28709 / rate:5.0f} s)")


if __name__ == "__main__":
    main()
