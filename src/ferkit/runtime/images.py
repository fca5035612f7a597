"""Reading photos as users have them: JPEG/PNG/WebP/BMP, gray, RGBA, 16-bit, EXIF-rotated -> 8-bit BGR."""

from __future__ import annotations

import glob
from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import FerkitError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Bytes -> BGR uint8. IMREAD_COLOR applies the EXIF orientation, drops alpha, and brings gray and
    16-bit images to 8-bit BGR."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise FerkitError(f"{name}: unreadable or corrupt image")
    return image


def read_image(path: str | Path) -> np.ndarray:
    path = Path(path)
    if is_video(path):
        raise FerkitError(f"{path}: a video, not a photo; analyse it with `ferkit video {path}`")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FerkitError(f"{path}: cannot read ({error.strerror or error})") from None
    return decode_image(data, str(path))


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files, folders (searched recursively for images) and glob patterns, in a stable order.

    An item that names nothing stays in the list, so it fails on its own and the others go on.
    Videos in a folder are left out: `videos_in` names them for a note.
    """
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            paths.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            paths += matches or [path]
    return paths


def videos_in(inputs: list[str]) -> list[Path]:
    """The videos that `expand_inputs` leaves out of the folders it searches."""
    folders = [Path(item) for item in inputs if Path(item).is_dir()]
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file() and is_video(p))
