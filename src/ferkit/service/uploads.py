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
# A progressive JPEG's decoder goes over the whole image once per scan; encoders write about 10 (libjpeg) to 20.
# A 66 KB file with its last scan repeated 3,000 times held a worker 30 s, so a file with more is refused unread.
MAX_JPEG_SCANS = 64


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


def jpeg_scan_count(data: bytes, stop_after: int = MAX_JPEG_SCANS) -> int:
    """How many scans (start-of-scan markers) a JPEG holds, read from its markers without decoding, up to one
    more than `stop_after`. Within a scan's entropy-coded data a 0xFF byte is followed by 0x00 (stuffing) or a
    restart marker; any other marker ends the scan."""
    scans, position = 0, 2
    while position + 4 <= len(data) and scans <= stop_after:
        if data[position] != 0xFF:
            return scans  # not a marker where one must be: the decoder will say it is corrupt
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:  # end of image
            return scans
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        position += 2 + length
        if marker == 0xDA:  # start of scan: skip its entropy-coded data to the next real marker
            scans += 1
            position = _end_of_entropy_data(data, position)
    return scans


def _end_of_entropy_data(data: bytes, position: int) -> int:
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        else:
            return position


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
    if content_type == "image/jpeg" and jpeg_scan_count(data) > MAX_JPEG_SCANS:
        raise UploadError(
            422,
            f"a JPEG with more than {MAX_JPEG_SCANS} scans: decoding it would cost far more than its size says "
            "(save it again as a baseline or ordinary progressive JPEG)",
        )
    return Upload(data, content_type, hashlib.sha256(data).hexdigest())
