"""A smaller install names the extra to add instead of ending in a ModuleNotFoundError traceback."""

import sys
import tomllib
from pathlib import Path

import pytest

from ferkit.cli import EXTRA_OF, main

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.mark.parametrize(
    ("argv", "missing", "extra"),
    [
        (["serve"], "uvicorn", "serve"),
        (["batch", "photos", "--out", "rows.parquet"], "pyarrow", "batch"),
    ],
)
def test_a_missing_extra_is_named(monkeypatch, capsys, tmp_path, argv, missing, extra):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    monkeypatch.setitem(sys.modules, missing, None)  # import now fails as in an install without the extra
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"needs {missing}" in error and f"pip install 'ferkit[{extra}]'" in error
    assert "Traceback" not in error


def test_a_missing_module_that_no_extra_brings_is_a_bug(monkeypatch):
    monkeypatch.setitem(sys.modules, "ferkit.batch.run", None)
    with pytest.raises(ModuleNotFoundError):
        main(["batch", "photos", "--out", "rows.parquet"])


def test_every_named_extra_exists():
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert set(EXTRA_OF.values()) <= set(extras)


def test_every_flag_says_what_it_does():
    """`--help` names every option with a sentence, on every command (no bare `--iou IOU`)."""
    import argparse

    from ferkit.cli import build_parser

    def bare(name: str, parser: argparse.ArgumentParser) -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += [flag for sub, child in action.choices.items() for flag in bare(f"{name} {sub}", child)]
            elif action.option_strings and not action.help and action.dest != "help":
                found.append(f"{name} {action.option_strings[0]}")
        return found

    assert bare("ferkit", build_parser()) == []
