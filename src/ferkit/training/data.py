"""From a store to training tensors: uint8 images kept in memory, targets as class distributions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ferkit.data import FerStore, load_store
from ferkit.data.pairing import pair_faces
from ferkit.errors import ConfigError
from ferkit.faces import resize_faces
from ferkit.labels import in_classes

LABEL_MODES = ("majority", "probability", "crossentropy", "multitarget", "age")
AGE_SIGMA = 2.0  # years: the spread of the label distribution around the true age (DLDL, Gao et al. 2017)


@dataclass
class SplitTensors:
    images: torch.Tensor  # (N, 1, S, S) uint8
    labels: torch.Tensor  # (N,) int64 majority class
    targets: torch.Tensor  # (N, C) float: one-hot, vote distribution, or multi-target mask
    taught: torch.Tensor | None = None  # (N, C) the teacher's softened answers, already inside `targets`
    rows: np.ndarray | None = None  # (N,) each face's row in the store (kept when a teacher is)

    def __len__(self) -> int:
        return len(self.labels)


def vote_distribution(store: FerStore) -> np.ndarray:
    """Votes over the store's classes, normalised; disgust votes already sit in anger for merged sets."""
    columns = [store.vote_columns.index(name) for name in store.classes]
    votes = store.votes[:, columns].astype(np.float32)
    return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1)


@dataclass
class Teacher:
    """Soft targets for every face of the store (evaluation.teacher), and how much of each target they make."""

    probabilities: np.ndarray  # (N, C) in the store's order
    weight: float = 0.5
    temperature: float = 1.0
    own_head: bool = False  # targets gain the teacher's columns beside the labels' instead of a blend

    def soften(self, probabilities: torch.Tensor) -> torch.Tensor:
        logits = torch.log(probabilities.clamp_min(1e-8)) / self.temperature
        return torch.softmax(logits, dim=1)

    def with_view(self, targets: torch.Tensor, taught: torch.Tensor, view: torch.Tensor, share: float) -> torch.Tensor:
        """`targets` whose teacher part (`taught`, the softened answers inside them) moves `share` of the way to
        the teacher's answers on the views the batch shows (training/teacher_views.py)."""
        shift = share * (self.soften(view) - taught)
        if self.own_head:
            classes = targets.shape[1] - taught.shape[1]
            return torch.cat([targets[:, :classes], targets[:, classes:] + shift], dim=1)
        return targets + self.weight * shift


def split_tensors(
    store: FerStore, splits: list[str], label_mode: str, image_size: int, limit: int = 0, teacher: Teacher | None = None
) -> SplitTensors:
    if teacher is not None:
        # An age target is a distribution over years (a Gaussian around the true age), so a teacher's blends in.
        if label_mode == "multitarget":
            raise ConfigError(f"data.teacher blends class distributions; label mode {label_mode!r} has none to blend")
        if not 0 < teacher.weight <= 1 or teacher.temperature <= 0:
            raise ConfigError("data.teacher_weight must be in (0, 1] and data.teacher_temperature above 0")
        # Carried through every subset below, so each face keeps its own teacher row.
        store = store.subset(np.ones(len(store.labels), bool))
        store.attributes["teacher"] = teacher.probabilities
        store.attributes["row"] = np.arange(len(store.labels))
    if label_mode not in LABEL_MODES:
        raise ConfigError(f"unknown label mode {label_mode!r}; known: {', '.join(LABEL_MODES)}")
    if label_mode == "age" and store.label_set != "age":
        raise ConfigError("label mode 'age' needs an age store (ferkit data prepare utkface...)")
    learns_votes = label_mode not in ("majority", "age")
    if learns_votes and store.votes is None:
        raise ConfigError(f"label mode {label_mode!r} needs FER+ votes; this store has none")
    part = store.split(*splits)
    # Vote-trained models keep the faces no emotion holds a majority of (their votes still teach); every
    # mode drops faces where "unknown" or "not a face" wins, as Barsoum et al. do.
    if learns_votes:
        part.labels = part.plurality_labels()
    part = part.subset(part.labels >= 0)
    if limit and limit < len(part):
        # A fixed random subset: stores are sorted by class, so the first N would be one class.
        chosen = np.random.default_rng(0).choice(len(part), limit, replace=False)
        part = part.subset(np.isin(np.arange(len(part)), chosen))
    if len(part) == 0:
        raise ConfigError(f"no labelled images in split(s) {', '.join(splits)}")
    labels = torch.from_numpy(part.labels.astype(np.int64))
    if label_mode == "majority":
        targets = F.one_hot(labels, len(store.classes)).float()
    elif label_mode == "age":
        targets = age_distribution(labels, len(store.classes))
    else:
        distribution = torch.from_numpy(vote_distribution(part))
        if label_mode == "multitarget":
            distribution = (distribution >= distribution.max(dim=1, keepdim=True).values).float()
        targets = distribution
    soft = rows = None
    if teacher is not None:
        soft, rows = (
            teacher.soften(torch.from_numpy(part.attributes["teacher"].astype(np.float32))),
            part.attributes["row"],
        )
        targets = (
            torch.cat([targets, soft], dim=1)
            if teacher.own_head
            else (1 - teacher.weight) * targets + teacher.weight * soft
        )
    images = torch.from_numpy(resize_faces(part.images, image_size)).unsqueeze(1)
    return SplitTensors(images.contiguous(), labels, targets, soft, rows)


@dataclass(frozen=True)
class OtherLabels:
    """The validation faces' labels in another store of the same faces (FER2013's own for FER+'s): one model
    answer read against both, so the best epoch is not chosen by one label set alone."""

    name: str
    rows: np.ndarray  # the validation faces that have a copy in the other store
    labels: np.ndarray  # each copy's label, in the other store's classes
    classes: tuple[str, ...]

    def accuracy(self, probabilities: np.ndarray, classes: tuple[str, ...]) -> float:
        """Accuracy of (N, classes) answers on the validation faces, read in the other store's classes."""
        answers = in_classes(probabilities[self.rows], classes, self.classes).argmax(1)
        return float((answers == self.labels).mean())


def other_labels(path: str | Path, val_images: np.ndarray, split: str) -> OtherLabels:
    """Pair each validation face with its copy in `path`'s split of the same name (data.pairing)."""
    other = load_store(path).split(split)
    other = other.subset(other.labels >= 0)
    partner, paired = pair_faces(val_images, other.images)
    if not paired.any():
        raise ConfigError(f"data.also_validate_on: no {split} face of {path} is a copy of this store's")
    rows = np.flatnonzero(paired)
    return OtherLabels(Path(path).stem, rows, other.labels[partner[rows]].astype(np.int64), tuple(other.classes))


def age_distribution(ages: torch.Tensor, classes: int, sigma: float = AGE_SIGMA) -> torch.Tensor:
    """A Gaussian over whole years centred on each true age, normalised: neighbouring ages are near misses."""
    years = torch.arange(classes, dtype=torch.float32)
    weights = torch.exp(-0.5 * ((years[None, :] - ages[:, None].float()) / sigma) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def normalisation(images: torch.Tensor) -> tuple[float, float]:
    """Mean and std of the training pixels on the 0..1 scale, recorded in every checkpoint."""
    pixels = images.float() / 255
    return round(float(pixels.mean()), 4), round(float(pixels.std()), 4)
