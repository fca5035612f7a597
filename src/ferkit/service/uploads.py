"""Checking an upload before it costs anything: size, kind and pixel count from the bytes and the header;
the decode comes later, once the request holds an analysis slot (pool.py)."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from ferkit.errors import FerkitError
from ferkit.runtime.images import decode_image

# File signatures of the formats OpenCV decodes here.
SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"BM": "image/bmp",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}
MAX_NAME_CHARACTERS = 255


class UploadError(FerkitError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    data: bytes
    content_type: str
    sha256: str

    def decode(self) -> np.ndarray:
        try:
            return decode_image(self.data, "upload")
        except FerkitError:
            raise UploadError(422, "corrupt image: it cannot be decoded") from None


def human_bytes(count: int) -> str:
    """10485760 -> '10 MiB', 50000 -> '48.8 KiB': limits said in units people read."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} bytes"


def clean_file_name(name: str | None) -> str:
    """A client's file name as stored and shown: the base name only (a client's path is neither trusted nor
    stored), without control or format characters (NUL breaks PostgreSQL, bidi overrides disguise an
    extension), at most 255 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    printable = "".join(c for c in base if not unicodedata.category(c).startswith("C"))
    return printable.strip()[:MAX_NAME_CHARACTERS] or "upload"


def sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None)


def pixel_count(data: bytes) -> int:
    """Width x height from the header alone (Pillow reads no pixels here)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with a clear message
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:
        raise UploadError(422, "corrupt image: its header cannot be read") from None
    return width * height


def check_upload(data: bytes, max_bytes: int, max_pixels: int) -> Upload:
    if not data:
        raise UploadError(422, "empty file")
    if len(data) > max_bytes:
        raise UploadError(413, f"file is larger than the {human_bytes(max_bytes)} limit")
    content_type = sniff(data)
    if content_type is None:
        raise UploadError(415, "not an image (JPEG, PNG, WebP, BMP or TIFF expected)")
    pixels = pixel_count(data)
    if pixels > max_pixels:
        raise UploadError(413, f"image has {pixels:,} pixels, more than the {max_pixels:,} allowed")
    return Upload(data, content_type, hashlib.sha256(data).hexdigest())
