"""Readers for every form FER2013 and FER+ come in. Each returns plain arrays; ingest.py builds the store.

Every error names the file and the row or entry, so a user can find the bad line.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ferkit.data.votes import ferplus_majority
from ferkit.errors import DataError
from ferkit.labels import FER2013_CLASSES, FERPLUS_VOTE_COLUMNS, SPLITS

IMAGE_SIZE = 48
FACE_FILE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
CSV_COLUMNS = ["emotion", "pixels", "Usage"]
FERPLUS_FOLDER_SPLITS = {"FER2013Train": "Training", "FER2013Valid": "PublicTest", "FER2013Test": "PrivateTest"}
KAGGLE_NAME = re.compile(r"^(?P<usage>[A-Za-z]+)_(?P<id>\w+)\.\w+$")


@dataclass
class RawData:
    """What a reader found: images and integer labels in the source's own class order."""

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    source_ids: np.ndarray
    votes: np.ndarray | None = None


# --- containers: folder, .tar(.gz), .zip --------------------------------------------------------


def iter_entries(source: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """Yield (posix relative name, bytes) for each wanted file of a folder or archive, in archive order."""
    name = source.name.lower()
    if source.is_dir():
        yield from _iter_folder(source, wanted)
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        yield from _iter_tar(source, wanted)
    elif name.endswith(".zip"):
        yield from _iter_zip(source, wanted)
    else:
        raise DataError(f"{source}: not a folder, .csv, .tar.gz or .zip")


def _iter_folder(root: Path, wanted):
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for file_name in sorted(files):
            relative = PurePosixPath(Path(directory, file_name).relative_to(root)).as_posix()
            if wanted(relative):
                yield relative, Path(directory, file_name).read_bytes()


def _iter_tar(path: Path, wanted):
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and wanted(member.name):
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{path}: unreadable archive ({error})") from None


def _iter_zip(path: Path, wanted):
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and wanted(info.filename):
                    yield info.filename, archive.read(info)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path}: unreadable archive ({error})") from None


def _is_image(name: str) -> bool:
    parts = PurePosixPath(name).parts
    # macOS archives carry __MACOSX/._name resource forks that are not images.
    return PurePosixPath(name).suffix.lower() in FACE_FILE_SUFFIXES and not any(
        p.startswith(("._", "__MACOSX")) for p in parts
    )


def decode_face(data: bytes, where: str, resize: bool) -> np.ndarray:
    """A data set's face file -> (48, 48) uint8 gray (a photo for the runtime is read by runtime.images)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataError(f"{where}: unreadable or corrupt image")
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        if not resize:
            raise DataError(f"{where}: image is {image.shape[1]}x{image.shape[0]}, expected 48x48 (use --resize)")
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return image


# --- fer2013.csv ----------------------------------------------------------------------------------


def read_fer2013_csv(path: Path) -> RawData:
    images, labels, splits, rows = [], [], [], []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file")
        if [h.strip() for h in header] != CSV_COLUMNS:
            raise DataError(f"{path}: columns are {','.join(header)}; expected {','.join(CSV_COLUMNS)}")
        for row_number, row in enumerate(reader):
            where = f"{path}: row {row_number + 1}"
            if len(row) != 3:
                raise DataError(f"{where}: {len(row)} fields, expected 3")
            labels.append(_parse_index(row[0], len(FER2013_CLASSES), "emotion", where))
            images.append(_parse_pixels(row[1], where))
            splits.append(_parse_usage(row[2], where))
            rows.append(str(row_number))
    return RawData(_stack(images), np.array(labels, np.int16), np.array(splits, np.int8), np.array(rows))


def _parse_index(text: str, count: int, what: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DataError(f"{where}: {what} {text!r} is not a number") from None
    if not 0 <= value < count:
        raise DataError(f"{where}: {what} {value} is out of range 0..{count - 1}")
    return value


def _parse_pixels(text: str, where: str) -> np.ndarray:
    try:
        values = np.array(text.split(), dtype=np.int32)
    except ValueError:
        raise DataError(f"{where}: pixels contain a value that is not a whole number") from None
    if values.size != IMAGE_SIZE * IMAGE_SIZE:
        raise DataError(f"{where}: {values.size} pixels, expected {IMAGE_SIZE * IMAGE_SIZE} (48x48)")
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"{where}: pixel values must lie in 0..255")
    return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def _parse_usage(text: str, where: str) -> int:
    if text.strip() not in SPLITS:
        raise DataError(f"{where}: unknown usage {text!r}; expected one of {', '.join(SPLITS)}")
    return SPLITS.index(text.strip())


def _stack(images: list[np.ndarray]) -> np.ndarray:
    return np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


# --- Kaggle image release: train/<emotion>/Training_*.jpg, test/<emotion>/PublicTest_*.jpg -----------


def read_kaggle_images(source: Path, resize: bool) -> RawData:
    images, labels, splits, ids = [], [], [], []
    for name, data in iter_entries(source, _is_image):
        where = f"{source}: {name}"
        folder, file_name = PurePosixPath(name).parts[-2:] if name.count("/") else ("", name)
        if folder not in FER2013_CLASSES:
            raise DataError(
                f"{where}: unknown class folder {folder!r}; expected one of {', '.join(sorted(FER2013_CLASSES))}"
            )
        match = KAGGLE_NAME.match(file_name)
        if not match or match["usage"] not in SPLITS:
            raise DataError(f"{where}: file name must start with Training_, PublicTest_ or PrivateTest_")
        images.append(decode_face(data, where, resize))
        labels.append(FER2013_CLASSES.index(folder))
        splits.append(SPLITS.index(match["usage"]))
        ids.append(PurePosixPath(file_name).stem)
    return RawData(_stack(images), np.array(labels, np.int16), np.array(splits, np.int8), np.array(ids))


# --- FER+ -------------------------------------------------------------------------------------------


def read_ferplus_votes_csv(text: str, where: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """fer2013new.csv: (image name or "" per fer2013.csv row, usage index per row, votes per row)."""
    names, usages, votes = [], [], []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    expected = ["Usage", "Image name", *FERPLUS_VOTE_COLUMNS]
    if header is None or [h.strip() for h in header] != expected:
        raise DataError(f"{where}: columns must be {','.join(expected)}")
    for row_number, row in enumerate(reader):
        row_where = f"{where}: row {row_number + 1}"
        if len(row) != len(expected):
            raise DataError(f"{row_where}: {len(row)} fields, expected {len(expected)}")
        usages.append(_parse_usage(row[0], row_where))
        names.append(row[1].strip())
        votes.append(_parse_votes(row[2:], row_where))
    return names, np.array(usages, np.int8), np.array(votes, np.uint8).reshape(-1, len(FERPLUS_VOTE_COLUMNS))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: unreadable ({error})") from None


def _parse_votes(fields: list[str], where: str) -> list[int]:
    try:
        votes = [int(v) for v in fields]
    except ValueError:
        raise DataError(f"{where}: vote counts must be whole numbers") from None
    if min(votes) < 0 or max(votes) > 255:
        raise DataError(f"{where}: vote counts must lie in 0..255")
    return votes


def read_ferplus_label_csv(text: str, where: str) -> dict[str, list[int]]:
    """label.csv has no header: name, "(x, y, w, h)", then the 10 vote counts."""
    votes = {}
    for row_number, row in enumerate(csv.reader(io.StringIO(text))):
        if not row:
            continue
        if len(row) != 2 + len(FERPLUS_VOTE_COLUMNS):
            raise DataError(f"{where}: row {row_number + 1}: {len(row)} fields, expected 12")
        votes[row[0].strip()] = _parse_votes(row[2:], f"{where}: row {row_number + 1}")
    return votes


def _ferplus_folder(name: str) -> str | None:
    for part in PurePosixPath(name).parts[:-1]:
        if part in FERPLUS_FOLDER_SPLITS:
            return part
    return None


def read_ferplus_folders(source: Path, resize: bool, votes_csv: Path | None) -> RawData:
    """FER2013Train|Valid|Test/ folders of PNGs with a label.csv each; fer2013new.csv (inside or given) gives rows."""
    pngs: dict[tuple[str, str], tuple[str, bytes]] = {}
    labels_by_folder: dict[str, dict[str, list[int]]] = {}
    new_csv_bytes = None
    for name, data in iter_entries(source, lambda n: _is_image(n) or n.endswith(".csv")):
        folder = _ferplus_folder(name)
        base = PurePosixPath(name).name
        if base == "fer2013new.csv":
            new_csv_bytes = data
        elif folder and base == "label.csv":
            labels_by_folder[folder] = read_ferplus_label_csv(data.decode("utf-8-sig"), f"{source}: {name}")
        elif folder and _is_image(name):
            pngs[(folder, base)] = (name, data)
    if not labels_by_folder:
        raise DataError(f"{source}: no FER2013Train/Valid/Test folder with a label.csv")
    row_index = _ferplus_row_index(source, votes_csv, new_csv_bytes)

    images, splits, ids, votes = [], [], [], []
    for folder in FERPLUS_FOLDER_SPLITS:
        for base, image_votes in labels_by_folder.get(folder, {}).items():
            if (folder, base) not in pngs:
                raise DataError(f"{source}: {folder}/label.csv names {base}, which is not in {folder}/")
            name, data = pngs[(folder, base)]
            split = SPLITS.index(FERPLUS_FOLDER_SPLITS[folder])
            images.append(decode_face(data, f"{source}: {name}", resize))
            votes.append(image_votes)
            splits.append(split)
            ids.append(row_index(base, split, image_votes) if row_index else base)
    votes_array = np.array(votes, np.uint8).reshape(-1, len(FERPLUS_VOTE_COLUMNS))
    return RawData(_stack(images), ferplus_majority(votes_array), np.array(splits, np.int8), np.array(ids), votes_array)


def _ferplus_row_index(source: Path, votes_csv: Path | None, embedded: bytes | None):
    """A lookup from image name to its fer2013.csv row, or None when no fer2013new.csv is at hand.

    The FER+ README says ferNNNNNNN is the row number; that is false after row 59, and four names
    appear on two rows. So we join by name through fer2013new.csv, and where a name repeats we take
    the row whose usage and votes agree with label.csv.
    """
    if votes_csv is not None:
        names, usages, votes = read_ferplus_votes_csv(_read_text(votes_csv), str(votes_csv))
    elif embedded is not None:
        names, usages, votes = read_ferplus_votes_csv(embedded.decode("utf-8-sig"), f"{source}: fer2013new.csv")
    else:
        return None
    rows_by_name: dict[str, list[int]] = {}
    for row, name in enumerate(names):
        if name:
            rows_by_name.setdefault(name, []).append(row)

    def lookup(name: str, split: int, image_votes: list[int]) -> str:
        rows = rows_by_name.get(name)
        if not rows:
            raise DataError(f"{source}: {name} is not named in fer2013new.csv")
        agreeing = [r for r in rows if usages[r] == split and list(votes[r]) == image_votes]
        return str((agreeing or rows)[0])

    return lookup


def read_fer2013_with_votes(csv_path: Path, votes_csv: Path) -> RawData:
    """fer2013.csv pixels with FER+ votes, row by row; rows FER+ names no image for are not faces and are dropped."""
    raw = read_fer2013_csv(csv_path)
    names, usages, votes = read_ferplus_votes_csv(_read_text(votes_csv), str(votes_csv))
    if len(names) != len(raw.labels):
        raise DataError(f"{votes_csv}: {len(names)} rows, but {csv_path} has {len(raw.labels)}")
    mismatch = np.flatnonzero(usages != raw.splits)
    if mismatch.size:
        raise DataError(f"{votes_csv}: row {mismatch[0] + 1}: usage differs from {csv_path}")
    keep = np.array([bool(n) for n in names])
    return RawData(raw.images[keep], ferplus_majority(votes[keep]), raw.splits[keep], raw.source_ids[keep], votes[keep])


# --- UTKFace: UTKFace/<age>_<gender>_<race>_<date>.jpg.chip.jpg ----------------------------------------

UTKFACE_NAME = re.compile(r"^(?P<age>\d+)_(?P<gender>[01])_(?P<race>[0-4])?_?\d+")
UTKFACE_SIZE = 64


def read_utkface(source: Path, seed: int = 0) -> tuple[RawData, dict[str, np.ndarray]]:
    """Faces to 64x64 gray, the age as label (capped at 100), gender and race (-1 where the name lacks it),
    and a fixed split: 80/10/10 within every age, seeded, so each split covers every age alike."""
    from ferkit.labels import MAX_AGE

    images, ages, genders, races, ids = [], [], [], [], []
    for name, data in iter_entries(source, _is_image):
        base = PurePosixPath(name).name
        match = UTKFACE_NAME.match(base)
        if not match:
            raise DataError(f"{source}: {name}: expected <age>_<gender>_<race>_<date>.jpg in the file name")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise DataError(f"{source}: {name}: unreadable or corrupt image")
        images.append(cv2.resize(image, (UTKFACE_SIZE, UTKFACE_SIZE), interpolation=cv2.INTER_AREA))
        ages.append(int(match["age"]))
        genders.append(int(match["gender"]))
        races.append(int(match["race"]) if match["race"] is not None else -1)
        ids.append(base)
    ages = np.array(ages, np.int16)
    splits = _stratified_split(ages, seed)
    raw = RawData(
        _stack(images).reshape(-1, UTKFACE_SIZE, UTKFACE_SIZE), np.minimum(ages, MAX_AGE), splits, np.array(ids)
    )
    return raw, {"age": ages, "gender": np.array(genders, np.int8), "race": np.array(races, np.int8)}


def _stratified_split(ages: np.ndarray, seed: int) -> np.ndarray:
    """Every 10th face in age order (ties shuffled, seeded) goes to validation, the next to test: each split
    spans the ages in the same proportions, even ages with only a few faces."""
    order = np.lexsort((np.random.default_rng(seed).random(len(ages)), ages))
    splits = np.zeros(len(ages), np.int8)
    splits[order[0::10]] = SPLITS.index("PublicTest")
    splits[order[1::10]] = SPLITS.index("PrivateTest")
    return splits
