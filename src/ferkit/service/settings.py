"""Service settings from the environment (FERKIT_*), overridable by `ferkit serve` options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.runtime.analyzer import AnalyzerOptions
from ferkit.runtime.detectors import DEFAULT_DETECTOR

# Room for the multipart framing and the small form fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise FerkitError(f"{name}={value!r} is not a whole number") from None


def read_api_key_file(path: str | Path) -> str:
    """A key from a file (its first line), so it is seen neither in `ps` nor in the environment of children."""
    try:
        key = Path(path).read_text().strip().splitlines()
    except OSError as error:
        raise FerkitError(f"{path}: cannot read the API key file ({error.strerror or error})") from None
    if not key or not key[0].strip():
        raise FerkitError(f"{path}: the API key file is empty")
    return key[0].strip()


def _env_api_key() -> str | None:
    if os.environ.get("FERKIT_API_KEY_FILE"):
        return read_api_key_file(os.environ["FERKIT_API_KEY_FILE"])
    return os.environ.get("FERKIT_API_KEY") or None


@dataclass
class Settings:
    db_url: str = field(default_factory=lambda: os.environ.get("FERKIT_DB_URL", "sqlite:///ferkit.db"))
    # With a key, every /api/v1 route needs it in X-API-Key; `public_read` opens GET and HEAD to everyone.
    api_key: str | None = field(default_factory=_env_api_key)
    public_read: bool = field(default_factory=lambda: os.environ.get("FERKIT_PUBLIC_READ", "") in ("1", "true", "yes"))
    cors_origins: list[str] = field(default_factory=lambda: _env_list("FERKIT_CORS_ORIGINS"))
    max_upload_bytes: int = field(default_factory=lambda: _env_int("FERKIT_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    # A decompression-bomb guard: a small file can claim a huge canvas.
    max_pixels: int = field(default_factory=lambda: _env_int("FERKIT_MAX_PIXELS", 40_000_000))
    workers: int = field(default_factory=lambda: _env_int("FERKIT_WORKERS", 2))
    # Requests allowed to wait for a busy analyzer, and the bytes of their uploads held meanwhile; more get 503
    # with Retry-After, and none waits longer than wait_seconds.
    max_waiting: int = field(default_factory=lambda: _env_int("FERKIT_MAX_WAITING", 64))
    max_waiting_bytes: int = field(default_factory=lambda: _env_int("FERKIT_MAX_WAITING_BYTES", 256 << 20))
    wait_seconds: float = 30.0
    # What a client may hold without sending: seconds to complete a request's headers, and for its whole body;
    # open connections (under the usual 1,024 open files); body bytes being received at once, counted as they
    # arrive. Past them: the connection is closed, a 408, a refused connection, a 503.
    header_seconds: float = field(default_factory=lambda: float(_env_int("FERKIT_HEADER_SECONDS", 10)))
    body_seconds: float = field(default_factory=lambda: float(_env_int("FERKIT_BODY_SECONDS", 60)))
    max_connections: int = field(default_factory=lambda: _env_int("FERKIT_MAX_CONNECTIONS", 512))
    max_receiving_bytes: int = field(default_factory=lambda: _env_int("FERKIT_MAX_RECEIVING_BYTES", 256 << 20))
    # Faces classified per photo, the largest; the answer counts the rest (a photo tiled with 1,764 faces held a
    # worker 125 s before this cap).
    max_faces: int = field(default_factory=lambda: _env_int("FERKIT_MAX_FACES", AnalyzerOptions.max_faces))
    # Photos whose longer side is larger are searched for faces on a copy this size: detection is most of an
    # upload's time (bench_service.py), and a smaller copy is faster but misses faces under about 13 pixels in it.
    detect_size: int = field(default_factory=lambda: _env_int("FERKIT_DETECT_SIZE", AnalyzerOptions.detect_size))
    # Seconds an analysis may run once it holds a slot: past them (or once its client has gone) it stops at its
    # next stage and frees the slot.
    analysis_seconds: float = field(default_factory=lambda: float(_env_int("FERKIT_ANALYSIS_SECONDS", 20)))
    preload: tuple[str, ...] = (DEFAULT_DETECTOR,)  # detectors loaded at start; the others on first use
    model: str | None = field(default_factory=lambda: os.environ.get("FERKIT_MODEL") or None)
    access_log: bool = field(default_factory=lambda: os.environ.get("FERKIT_ACCESS_LOG", "") in ("1", "true", "yes"))
    # Host names a request may be addressed to ("*": any). Empty: loopback only without a key (a DNS-rebinding
    # page cannot reach a keyless service through another name), any with one.
    allowed_hosts: list[str] = field(default_factory=lambda: _env_list("FERKIT_ALLOWED_HOSTS"))

    def check(self) -> None:
        """The analysis settings within their ranges, a mistake named by its variable, before anything starts."""
        for variable, name in (("FERKIT_MAX_FACES", "max_faces"), ("FERKIT_DETECT_SIZE", "detect_size")):
            try:
                AnalyzerOptions(**{name: getattr(self, name)})
            except FerkitError as error:
                raise FerkitError(f"{variable}: {error}") from None

    def hosts(self) -> list[str]:
        """The allowed host names in force."""
        if self.allowed_hosts:
            return self.allowed_hosts
        return ["*"] if self.api_key else list(LOOPBACK_HOSTS)

    @property
    def max_body_bytes(self) -> int:
        return self.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
