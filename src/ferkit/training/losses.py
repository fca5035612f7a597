"""One loss over class distributions covers every label mode, smoothing and class weights."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def soft_cross_entropy(logits, targets, class_weights=None, label_smoothing: float = 0.0):
    """Cross-entropy against target distributions (one-hot, votes, or mixup blends)."""
    if label_smoothing:
        targets = targets * (1 - label_smoothing) + label_smoothing / targets.shape[1]
    log_probs = F.log_softmax(logits.float(), dim=1)
    if class_weights is None:
        return -(targets * log_probs).sum(dim=1).mean()
    weighted = targets * class_weights
    return -(weighted * log_probs).sum(dim=1).sum() / weighted.sum()


def multi_target_loss(logits, mask):
    """Barsoum et al.'s multi-target loss: any of the most-voted classes counts as right."""
    log_probs = F.log_softmax(logits.float(), dim=1)
    return -torch.logsumexp(log_probs.masked_fill(mask <= 0, float("-inf")), dim=1).mean()


def sample_targets(distributions, generator):
    """The "probability" label mode: draw one label per image from its vote distribution, anew each epoch."""
    labels = torch.multinomial(distributions, 1, generator=generator).squeeze(1)
    return F.one_hot(labels, distributions.shape[1]).float()


def inverse_frequency_weights(labels, num_classes: int):
    counts = torch.bincount(labels, minlength=num_classes).float().clamp(min=1)
    return counts.sum() / (num_classes * counts)
