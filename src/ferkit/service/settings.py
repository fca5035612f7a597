"""Service settings from the environment (FERKIT_*), overridable by `ferkit serve` options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


@dataclass
class Settings:
    db_url: str = field(default_factory=lambda: os.environ.get("FERKIT_DB_URL", "sqlite:///ferkit.db"))
    api_key: str | None = field(default_factory=lambda: os.environ.get("FERKIT_API_KEY") or None)
    cors_origins: list[str] = field(default_factory=lambda: _env_list("FERKIT_CORS_ORIGINS"))
    max_upload_bytes: int = field(default_factory=lambda: int(os.environ.get("FERKIT_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)))
    # A decompression-bomb guard: a small file can claim a huge canvas.
    max_pixels: int = field(default_factory=lambda: int(os.environ.get("FERKIT_MAX_PIXELS", 40_000_000)))
    workers: int = field(default_factory=lambda: int(os.environ.get("FERKIT_WORKERS", 2)))
    model: str | None = field(default_factory=lambda: os.environ.get("FERKIT_MODEL") or None)
