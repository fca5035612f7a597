"""Tiny data sets made on the fly, and the shared data sets when they are at hand."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from ferkit.labels import FER2013_CLASSES, FERPLUS_VOTE_COLUMNS

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("FERKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "fer2013-images.tar.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared data sets, but {path} has no fer2013-images.tar.gz")
        pytest.skip(f"shared data sets not found at {path} (set FERKIT_SHARED_DATA); they run in CI")
    return path


def face_like(rng: np.random.Generator, label: int) -> np.ndarray:
    """A 48x48 image whose brightness pattern depends on the label, so tiny models can learn it."""
    image = rng.integers(0, 60, (48, 48)).astype(np.uint8)
    row = 6 * label
    image[row : row + 6, :] = 220
    return image


def write_kaggle_tree(root: Path, per_class: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """train/<emotion>/Training_*.png and test/<emotion>/{PublicTest,PrivateTest}_*.png (PNG: lossless)."""
    rng = np.random.default_rng(seed)
    pixels = {}
    for split, folder in (("Training", "train"), ("PublicTest", "test"), ("PrivateTest", "test")):
        for label, emotion in enumerate(FER2013_CLASSES):
            directory = root / folder / emotion
            directory.mkdir(parents=True, exist_ok=True)
            for k in range(per_class):
                name = f"{split}_{label}{k}{seed}{len(pixels)}"
                image = face_like(rng, label)
                cv2.imwrite(str(directory / f"{name}.png"), image)
                pixels[name] = image
    return pixels


def kaggle_tree_to_csv(root: Path, csv_path: Path) -> None:
    """Build fer2013.csv (emotion index, pixels, Usage) from an image tree, as a user converting would."""
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for path in sorted(root.rglob("*.*")):
            if path.suffix.lower() not in (".png", ".jpg"):
                continue
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            usage = path.name.split("_")[0]
            writer.writerow([FER2013_CLASSES.index(path.parent.name), " ".join(map(str, image.ravel())), usage])


@pytest.fixture
def kaggle_tree(tmp_path) -> Path:
    root = tmp_path / "fer2013-images"
    write_kaggle_tree(root)
    return root


def make_tiny_store(folder: Path, counts=(40, 14, 14), seed: int = 1) -> Path:
    """A trainable store of face_like() images: counts are per class for Training, PublicTest, PrivateTest."""
    from ferkit.data import prepare

    rng = np.random.default_rng(seed)
    for (split, sub), count in zip((("Training", "train"), ("PublicTest", "test"), ("PrivateTest", "test")), counts):
        for label, emotion in enumerate(FER2013_CLASSES):
            directory = folder / "src" / sub / emotion
            directory.mkdir(parents=True, exist_ok=True)
            for k in range(count):
                cv2.imwrite(str(directory / f"{split}_{k}.png"), face_like(rng, label))
    prepare(folder / "src", folder / "tiny.npz")
    return folder / "tiny.npz"


@pytest.fixture
def tiny_store(tmp_path) -> Path:
    return make_tiny_store(tmp_path)


@pytest.fixture(scope="module")
def tiny_store_module(tmp_path_factory) -> Path:
    """The same, made once per test module, for modules that train once and test many times."""
    return make_tiny_store(tmp_path_factory.mktemp("store"), counts=(20, 6, 6), seed=5)


def write_ferplus_tree(root: Path) -> list[list]:
    """FER+ layout with the real traps: a fer2013new.csv row with no image, and a name on two rows."""
    rng = np.random.default_rng(2)
    rows = [  # usage, name, votes (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF)
        ["Training", "fer0000000.png", [8, 2, 0, 0, 0, 0, 0, 0, 0, 0]],
        ["Training", "", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]],
        ["Training", "fer0000001.png", [0, 9, 1, 0, 0, 0, 0, 0, 0, 0]],
        ["Training", "fer0000002.png", [0, 0, 0, 0, 3, 4, 0, 0, 3, 0]],
        ["PublicTest", "fer0000003.png", [0, 0, 7, 0, 0, 0, 3, 0, 0, 0]],
        ["PrivateTest", "fer0000004.png", [1, 0, 0, 0, 0, 0, 0, 0, 9, 0]],
        ["PrivateTest", "fer0000005.png", [0, 0, 0, 6, 0, 0, 0, 4, 0, 0]],
        # The same name again, with other votes: label.csv's votes pick row 5 above.
        ["PrivateTest", "fer0000005.png", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]],
    ]
    folders = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
    root.mkdir(parents=True)
    with open(root / "fer2013new.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Usage", "Image name", *FERPLUS_VOTE_COLUMNS])
        for usage, name, votes in rows:
            writer.writerow([usage, name, *votes])
    written = set()
    for usage, name, votes in rows:
        if not name or name in written:
            continue
        written.add(name)
        folder = root / folders[usage]
        folder.mkdir(exist_ok=True)
        cv2.imwrite(str(folder / name), rng.integers(0, 255, (48, 48)).astype(np.uint8))
        with open(folder / "label.csv", "a", newline="") as handle:
            csv.writer(handle).writerow([name, "(0, 0, 48, 48)", *votes])
    return rows


def write_utkface_tree(root: Path, per_age: int = 3) -> None:
    """UTKFace/<age>_<gender>_<race>_<date>.jpg.chip.jpg with brightness growing with age."""
    rng = np.random.default_rng(3)
    folder = root / "UTKFace"
    folder.mkdir(parents=True)
    for age in range(1, 90, 4):
        for k in range(per_age):
            image = np.clip(rng.normal(age * 2.5, 10, (96, 96, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"{age}_{k % 2}_{k % 5}_2017011{k}.jpg.chip.jpg"), image)
