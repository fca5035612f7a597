"""Runtime tests need no torch: CI also runs this folder in an environment without it."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import shared_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def samples() -> Path:
    path = shared_data_dir() / "samples"
    if not (path / "photos").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared samples, but {path} has no photos/")
        pytest.skip(f"shared samples not found at {path} (set FERKIT_SHARED_DATA); they run in CI")
    return path


@pytest.fixture(scope="session")
def analyzer():
    from ferkit.runtime.analyzer import Analyzer

    return Analyzer()
