"""`ferkit data prepare`: any FER2013 / FER+ source in, one store out."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from ferkit.data import sources
from ferkit.data.store import FerStore
from ferkit.data.votes import ferplus_majority
from ferkit.errors import DataError
from ferkit.labels import (
    FER2013_CLASSES,
    FERPLUS_CLASSES,
    FERPLUS_VOTE_COLUMNS,
    LABEL_SETS,
    disgust_merge_map,
    merged_label_set,
)


def prepare(
    source: str | Path,
    out: str | Path,
    *,
    votes: str | Path | None = None,
    merge_disgust: bool = False,
    splits: list[str] | None = None,
    resize: bool = False,
    equalize: bool = False,
    force: bool = False,
) -> FerStore:
    """Read SOURCE (fer2013.csv, the Kaggle image folders, or FER+), write the store to OUT, return it."""
    source, out = Path(source), Path(out)
    out = out if out.suffix == ".npz" else out.with_suffix(".npz")
    if out.exists() and not force:
        raise DataError(f"{out}: already exists (use --force to overwrite)")
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    store = read_source(source, Path(votes) if votes else None, resize)
    if len(store) == 0:
        raise DataError(f"{source}: no images found")
    if splits:
        store = store.split(*splits)
    if merge_disgust:
        if store.label_set not in ("fer2013", "ferplus"):
            raise DataError(f"{source}: --merge-disgust applies to emotion data sets, not {store.source}")
        store = _merge_disgust(store)
    if equalize and not store.equalized:
        store.images = np.stack([cv2.equalizeHist(image) for image in store.images])
        store.equalized = True
    store.save(out, force=force)
    return store


def read_source(source: Path, votes: Path | None, resize: bool) -> FerStore:
    kind = detect_kind(source)
    if kind == "utkface":
        raw, attributes = sources.read_utkface(source)
        return FerStore(
            images=raw.images,
            labels=raw.labels,
            splits=raw.splits,
            source_ids=raw.source_ids,
            classes=LABEL_SETS["age"].classes,
            label_set="age",
            source="utkface",
            attributes=attributes,
        )
    if kind == "fer2013-csv":
        raw = sources.read_fer2013_with_votes(source, votes) if votes else sources.read_fer2013_csv(source)
        is_ferplus, equalized = votes is not None, False
    elif kind == "kaggle-images":
        raw, is_ferplus, equalized = sources.read_kaggle_images(source, resize), False, True
    elif kind == "ferplus-folders":
        raw, is_ferplus, equalized = sources.read_ferplus_folders(source, resize, votes), True, False
    else:
        raise DataError(
            f"{source}: fer2013new.csv holds FER+ votes but no pixels; "
            "pass fer2013.csv with --votes fer2013new.csv, or the FER+ image folders"
        )
    label_set = "ferplus" if is_ferplus else "fer2013"
    return FerStore(
        images=raw.images,
        labels=raw.labels,
        splits=raw.splits,
        source_ids=raw.source_ids,
        classes=FERPLUS_CLASSES if is_ferplus else FER2013_CLASSES,
        label_set=label_set,
        source="ferplus" if is_ferplus else "fer2013",
        votes=raw.votes,
        vote_columns=FERPLUS_VOTE_COLUMNS if is_ferplus else (),
        equalized=equalized,
    )


def detect_kind(source: Path) -> str:
    if source.is_file() and source.suffix.lower() == ".csv":
        return _csv_kind(source)
    for name, _ in sources.iter_entries(source, lambda name: True):
        parts = name.split("/")
        if any(p in sources.FERPLUS_FOLDER_SPLITS for p in parts):
            return "ferplus-folders"
        if sources.UTKFACE_NAME.match(parts[-1]) and parts[-1].endswith((".jpg", ".png")):
            return "utkface"
        if any(p in ("train", "test") for p in parts[:-1]):
            return "kaggle-images"
    raise DataError(f"{source}: found neither train/ and test/ emotion folders nor FER2013Train/Valid/Test folders")


def _csv_kind(path: Path) -> str:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: unreadable ({error})") from None
    if header is None:
        raise DataError(f"{path}: empty file")
    return "ferplus-votes-csv" if header[:2] == ["Usage", "Image name"] else "fer2013-csv"


def _merge_disgust(store: FerStore) -> FerStore:
    labels, votes = store.labels, store.votes
    if votes is not None:
        # Disgust votes count for anger, so the FER+ majority is taken again on the merged votes.
        votes = votes.copy()
        anger, disgust = FERPLUS_VOTE_COLUMNS.index("anger"), FERPLUS_VOTE_COLUMNS.index("disgust")
        votes[:, anger] += votes[:, disgust]
        votes[:, disgust] = 0
        labels = ferplus_majority(votes)
    index_map = np.array(disgust_merge_map(store.label_set), np.int16)
    merged = store.subset(np.ones(len(store), bool))
    merged.labels = np.where(labels >= 0, index_map[np.maximum(labels, 0)], -1).astype(np.int16)
    merged.votes = votes
    merged.label_set = merged_label_set(store.label_set)
    merged.classes = LABEL_SETS[merged.label_set].classes
    return merged
