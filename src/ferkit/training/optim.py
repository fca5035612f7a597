"""Optimizers and LR schedulers as registries of names."""

from __future__ import annotations

import torch

from ferkit.config import OptimConfig, ScheduleConfig
from ferkit.errors import ConfigError


def _no_decay_groups(model: torch.nn.Module, weight_decay: float):
    """Weight decay on weights only: decaying BN scales and biases hurts small-data training."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim > 1 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


OPTIMIZERS = {
    "sgd": lambda groups, c: torch.optim.SGD(groups, lr=c.lr, momentum=c.momentum),
    "sgd_nesterov": lambda groups, c: torch.optim.SGD(groups, lr=c.lr, momentum=c.momentum, nesterov=True),
    "asgd": lambda groups, c: torch.optim.ASGD(groups, lr=c.lr),
    "adam": lambda groups, c: torch.optim.Adam(groups, lr=c.lr),
    "amsgrad": lambda groups, c: torch.optim.Adam(groups, lr=c.lr, amsgrad=True),
    "adamw": lambda groups, c: torch.optim.AdamW(groups, lr=c.lr),
    "adadelta": lambda groups, c: torch.optim.Adadelta(groups, lr=c.lr),
    "adagrad": lambda groups, c: torch.optim.Adagrad(groups, lr=c.lr),
}


def create_optimizer(model: torch.nn.Module, config: OptimConfig) -> torch.optim.Optimizer:
    if config.name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {config.name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[config.name](_no_decay_groups(model, config.weight_decay), config)


class Schedule:
    """A scheduler plus when it steps: after every batch ("step") or after validation ("epoch")."""

    def __init__(self, scheduler, interval: str):
        self.scheduler, self.interval = scheduler, interval

    def after_batch(self) -> None:
        if self.scheduler is not None and self.interval == "step":
            self.scheduler.step()

    def after_epoch(self, val_accuracy: float) -> None:
        if self.scheduler is None or self.interval != "epoch":
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(val_accuracy)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)


def _warmup(optimizer, config: ScheduleConfig, steps_per_epoch: int, after):
    """Linear warm-up for warmup_epochs, then `after`, both counted in batches."""
    warm = config.warmup_epochs * steps_per_epoch
    if not warm:
        return after
    start = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warm)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [start, after], milestones=[warm])


def _cosine(optimizer, c, epochs, steps):
    total = max((epochs - c.warmup_epochs) * steps, 1)
    return Schedule(
        _warmup(optimizer, c, steps, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total, c.min_lr)), "step"
    )


def _cosine_restarts(optimizer, c, epochs, steps):
    after = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, c.restart_epochs * steps, T_mult=2, eta_min=c.min_lr
    )
    return Schedule(_warmup(optimizer, c, steps, after), "step")


def _one_cycle(optimizer, c, epochs, steps):
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return Schedule(torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=epochs * steps), "step")


def _step(optimizer, c, epochs, steps):
    return Schedule(torch.optim.lr_scheduler.StepLR(optimizer, c.step_size, c.gamma), "epoch")


def _plateau(optimizer, c, epochs, steps):
    # mode="max": the schedule watches validation accuracy, as Khaireddin & Chen do.
    return Schedule(
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", c.factor, c.patience, min_lr=c.min_lr), "epoch"
    )


SCHEDULERS = {
    "plateau": _plateau,
    "cosine": _cosine,
    "cosine_restarts": _cosine_restarts,
    "one_cycle": _one_cycle,
    "step": _step,
    "none": lambda optimizer, c, epochs, steps: Schedule(None, "epoch"),
}


def create_schedule(optimizer, config: ScheduleConfig, epochs: int, steps_per_epoch: int) -> Schedule:
    if config.name not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {config.name!r}; known: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[config.name](optimizer, config, epochs, steps_per_epoch)


def current_lr(optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


__all__ = ["OPTIMIZERS", "SCHEDULERS", "create_optimizer", "create_schedule", "current_lr"]
