"""Training: optimizers, schedulers, the loop, checkpoints and sweeps (needs the `train` extra)."""
