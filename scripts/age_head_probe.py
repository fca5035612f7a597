"""Can the emotion network's backbone also tell age? A probe: the pooled features of a trained emotion checkpoint on
UTKFace's faces, prepared as the emotion model prepares a face, and two heads fitted on Training's features alone (a
ridge regression, and a two-layer head selected on PublicTest); MAE in years on both test splits.

    python scripts/age_head_probe.py runs/RUN/best.pt --store stores/utkface.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ferkit.data import FerStore, load_store
from ferkit.errors import FerkitError
from ferkit.evaluation.evaluate import images_as_the_model_expects
from ferkit.training.predict import CheckpointPredictor

SPLITS = ("Training", "PublicTest", "PrivateTest")
RIDGE_PENALTIES = (1.0, 10.0, 100.0)
HEAD_EPOCHS = 60


def pooled_features(predictor: CheckpointPredictor, part: FerStore, store_path: str) -> np.ndarray:
    """What the network's classifier reads (the input of `fc`) for each face, centre crop, prepared as the
    checkpoint's own predictions prepare a face."""
    captured: list[torch.Tensor] = []
    hook = predictor.model.fc.register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0].detach()))
    predictor.predict_prepared(images_as_the_model_expects(part, predictor, store_path))
    hook.remove()
    return torch.cat(captured).float().numpy()


def ridge_maes(features: dict[str, np.ndarray], ages: dict[str, np.ndarray], penalty: float) -> list[float]:
    with_bias = {split: np.hstack([f, np.ones((len(f), 1))]) for split, f in features.items()}
    train = with_bias["Training"]
    weights = np.linalg.solve(train.T @ train + penalty * np.eye(train.shape[1]), train.T @ ages["Training"])
    return [float(np.abs(np.clip(with_bias[s] @ weights, 0, 100) - ages[s]).mean()) for s in SPLITS[1:]]


def head_maes(features: dict[str, np.ndarray], ages: dict[str, np.ndarray]) -> tuple[int, list[float]]:
    """A two-layer head trained with an L1 loss; the epoch with the lowest PublicTest MAE."""
    torch.manual_seed(0)
    tensors = {split: torch.tensor(f, dtype=torch.float32) for split, f in features.items()}
    targets = {split: torch.tensor(a, dtype=torch.float32) for split, a in ages.items()}
    width = tensors["Training"].shape[1]
    head = torch.nn.Sequential(torch.nn.Linear(width, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    optimizer = torch.optim.AdamW(head.parameters(), 1e-3, weight_decay=1e-4)
    best: tuple[int, list[float]] | None = None
    for epoch in range(1, HEAD_EPOCHS + 1):
        for batch in torch.randperm(len(tensors["Training"])).split(256):
            loss = torch.nn.functional.l1_loss(head(tensors["Training"][batch]).squeeze(1), targets["Training"][batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            maes = [float((head(tensors[s]).squeeze(1) - targets[s]).abs().mean()) for s in SPLITS[1:]]
        if best is None or maes[0] < best[1][0]:
            best = (epoch, maes)
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="an emotion run's checkpoint (best.pt or last.pt)")
    parser.add_argument("--store", required=True, help="the UTKFace store (ferkit data prepare utkface-96px...)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        predictor = CheckpointPredictor(args.checkpoint)
        store = load_store(args.store)
    except FerkitError as error:
        print(f"age_head_probe: error: {error}", file=sys.stderr)
        return 2
    parts = {split: store.split(split) for split in SPLITS}
    raw = {split: pooled_features(predictor, part, args.store) for split, part in parts.items()}
    mean, std = raw["Training"].mean(0), raw["Training"].std(0) + 1e-6  # Training's statistics only
    features = {split: (f - mean) / std for split, f in raw.items()}
    ages = {split: part.labels.astype(np.float64) for split, part in parts.items()}
    print(f"{args.checkpoint}: {features['Training'].shape[1]} pooled features; MAE in years, PublicTest / PrivateTest")
    for penalty in RIDGE_PENALTIES:
        public, private = ridge_maes(features, ages, penalty)
        print(f"ridge regression, penalty {penalty:g}: {public:.3f} / {private:.3f}")
    epoch, (public, private) = head_maes(features, ages)
    print(f"two-layer head (256 hidden), epoch {epoch} of {HEAD_EPOCHS} chosen on PublicTest: ", end="")
    print(f"{public:.3f} / {private:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
