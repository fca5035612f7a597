"""The store: one uncompressed .npz holding every image as uint8, with labels, splits and votes.

Uncompressed because loading 36k 48x48 images must take well under a second; the whole
FER2013 store is about 85 MB.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.atomic import atomic_write
from ferkit.data.votes import ferplus_plurality
from ferkit.errors import DataError
from ferkit.labels import SPLITS

STORE_FORMAT = 1
# Stores with votes record how their labels were taken from them; the earlier rule (the most votes) made a
# harder test set than the one FER+ results are reported on, so such stores are prepared again.
FERPLUS_LABEL_RULE = "barsoum-majority"


@dataclass
class FerStore:
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int16 index into classes; -1 where no class holds a majority (FER+)
    splits: np.ndarray  # (N,) int8 index into SPLITS
    source_ids: np.ndarray  # (N,) str: CSV row number or file name
    classes: tuple[str, ...]
    label_set: str
    source: str  # "fer2013" or "ferplus"
    votes: np.ndarray | None = None  # (N, 10) uint8 FER+ annotator votes
    vote_columns: tuple[str, ...] = ()
    equalized: bool = False  # pixels are histogram-equalised (the Kaggle JPEG release)
    extra: dict = field(default_factory=dict)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # per-image extras, e.g. UTKFace gender, race, age

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def split_names(self) -> tuple[str, ...]:
        return SPLITS

    def split_mask(self, *names: str) -> np.ndarray:
        unknown = set(names) - set(SPLITS)
        if unknown:
            raise DataError(f"unknown split {sorted(unknown)[0]!r}; splits are {', '.join(SPLITS)}")
        return np.isin(self.splits, [SPLITS.index(n) for n in names])

    def subset(self, mask: np.ndarray) -> FerStore:
        return FerStore(
            images=self.images[mask],
            labels=self.labels[mask],
            splits=self.splits[mask],
            source_ids=self.source_ids[mask],
            classes=self.classes,
            label_set=self.label_set,
            source=self.source,
            votes=None if self.votes is None else self.votes[mask],
            vote_columns=self.vote_columns,
            equalized=self.equalized,
            extra=dict(self.extra),
            attributes={name: values[mask] for name, values in self.attributes.items()},
        )

    def split(self, *names: str) -> FerStore:
        return self.subset(self.split_mask(*names))

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class (a "none" column counts FER+ images with no majority class)."""
        table = {}
        for index, name in enumerate(SPLITS):
            labels = self.labels[self.splits == index]
            if len(labels) == 0:
                continue
            row = {cls: int((labels == c).sum()) for c, cls in enumerate(self.classes)}
            if (labels < 0).any():
                row["none"] = int((labels < 0).sum())
            table[name] = row
        return table

    def plurality_labels(self) -> np.ndarray:
        """Each face's most-voted class (FER+ stores): what vote-trained models learn from."""
        return ferplus_plurality(self.votes, [self.vote_columns.index(name) for name in self.classes])

    def data_hash(self) -> str:
        """Content hash of images, labels and splits: what a model records as its training data."""
        digest = hashlib.sha256()
        for array in (self.images, self.labels, self.splits):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def meta(self) -> dict:
        return {
            "format": STORE_FORMAT,
            "classes": list(self.classes),
            "label_set": self.label_set,
            "source": self.source,
            "vote_columns": list(self.vote_columns),
            "equalized": self.equalized,
            "splits": list(SPLITS),
            "data_hash": self.data_hash(),
            "label_rule": FERPLUS_LABEL_RULE if self.votes is not None else None,
            "extra": self.extra,
        }

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write atomically: a temp file in the target folder, then rename over the target."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        if path.exists() and not force:
            raise DataError(f"{path}: already exists (use --force to overwrite)")
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "splits": self.splits,
            "source_ids": self.source_ids,
            "meta": np.array(json.dumps(self.meta())),
        }
        if self.votes is not None:
            arrays["votes"] = self.votes
        arrays.update({f"attr_{name}": values for name, values in self.attributes.items()})

        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        return atomic_write(path, write)


def load_store(path: str | Path) -> FerStore:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such store (make one with `ferkit data prepare`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            arrays = {key: archive[key] for key in archive.files if key != "meta"}
            attributes = {key[5:]: arrays.pop(key) for key in list(arrays) if key.startswith("attr_")}
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path}: not a ferkit store ({error})") from None
    if meta.get("format") != STORE_FORMAT:
        raise DataError(f"{path}: store format {meta.get('format')} is not {STORE_FORMAT}")
    if "votes" in arrays and meta.get("label_rule") != FERPLUS_LABEL_RULE:
        raise DataError(
            f"{path}: prepared by an older ferkit, whose FER+ labels were the most-voted emotion rather "
            f"than Barsoum et al.'s majority; prepare it again with `ferkit data prepare`"
        )
    return FerStore(
        images=arrays["images"],
        labels=arrays["labels"],
        splits=arrays["splits"],
        source_ids=arrays["source_ids"],
        classes=tuple(meta["classes"]),
        label_set=meta["label_set"],
        source=meta["source"],
        votes=arrays.get("votes"),
        vote_columns=tuple(meta["vote_columns"]),
        equalized=meta["equalized"],
        extra=meta.get("extra", {}),
        attributes=attributes,
    )
