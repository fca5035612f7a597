"""Every bad input: a clear one-line error naming the file and entry, exit code 2, no output file."""

import zipfile

import numpy as np
import pytest

from ferkit.cli import main

GOOD_PIXELS = " ".join(["10"] * 2304)


def run(tmp_path, source, *extra):
    out = tmp_path / "out.npz"
    code = main(["data", "prepare", str(source), "--out", str(out), *extra])
    return code, out


CSV_CASES = {
    "wrong columns": ("label,pixels,Usage\n0,{p},Training\n", "columns are label,pixels,Usage"),
    "short pixels": ("emotion,pixels,Usage\n0,1 2 3,Training\n", "row 1: 3 pixels, expected 2304"),
    "non-numeric pixel": (
        "emotion,pixels,Usage\n0,{p} x,Training\n",
        "row 1: pixels contain a value that is not a whole number",
    ),
    "pixel out of range": ("emotion,pixels,Usage\n0,{q},Training\n", "row 1: pixel values must lie in 0..255"),
    "unknown usage": ("emotion,pixels,Usage\n0,{p},Training\n3,{p},Validation\n", "row 2: unknown usage 'Validation'"),
    "emotion index": ("emotion,pixels,Usage\n7,{p},Training\n", "row 1: emotion 7 is out of range 0..6"),
    "emotion not a number": ("emotion,pixels,Usage\nhappy,{p},Training\n", "row 1: emotion 'happy' is not a number"),
    "empty file": ("", "empty file"),
    "header only": ("emotion,pixels,Usage\n", "no images found"),
}


@pytest.mark.parametrize("case", CSV_CASES)
def test_bad_csv(tmp_path, capsys, case):
    text, message = CSV_CASES[case]
    source = tmp_path / "fer2013.csv"
    source.write_text(text.format(p=GOOD_PIXELS, q=" ".join(["300"] * 2304)))
    code, out = run(tmp_path, source)
    error = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert message in error and str(source) in error
    assert error.count("\n") == 1 and "Traceback" not in error


def image_tree(tmp_path, relative, data: bytes):
    path = tmp_path / "src" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return tmp_path / "src"


def png(size=48) -> bytes:
    import cv2

    return cv2.imencode(".png", np.zeros((size, size), np.uint8))[1].tobytes()


@pytest.mark.parametrize(
    "relative,data,message",
    [
        ("train/happyish/Training_1.png", png(), "unknown class folder 'happyish'"),
        ("train/happy/Training_1.png", b"not an image at all", "Training_1.png: unreadable or corrupt image"),
        ("train/happy/Validation_1.png", png(), "file name must start with Training_, PublicTest_ or PrivateTest_"),
        ("train/happy/Training_1.png", png(64), "image is 64x64, expected 48x48"),
    ],
)
def test_bad_image_tree(tmp_path, capsys, relative, data, message):
    source = image_tree(tmp_path, relative, data)
    code, out = run(tmp_path, source)
    error = capsys.readouterr().err
    assert code == 2 and not out.exists() and message in error


def test_empty_folder_and_missing_source(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run(tmp_path, tmp_path / "empty")[0] == 2
    assert "found neither" in capsys.readouterr().err
    assert run(tmp_path, tmp_path / "nowhere")[0] == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_corrupt_archive(tmp_path, capsys):
    bad = tmp_path / "images.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    assert run(tmp_path, bad)[0] == 2
    assert "unreadable archive" in capsys.readouterr().err


def test_existing_output_is_kept(tmp_path, capsys, kaggle_tree):
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    assert run(tmp_path, kaggle_tree)[0] == 2
    assert out.read_bytes() == b"precious"
    assert "already exists (use --force" in capsys.readouterr().err
    assert run(tmp_path, kaggle_tree, "--force")[0] == 0


def test_ferplus_label_names_a_missing_image(tmp_path, capsys):
    from conftest import write_ferplus_tree

    write_ferplus_tree(tmp_path / "fp")
    (tmp_path / "fp" / "FER2013Valid" / "fer0000003.png").unlink()
    assert run(tmp_path, tmp_path / "fp")[0] == 2
    assert "FER2013Valid/label.csv names fer0000003.png" in capsys.readouterr().err


def test_zip_with_a_bad_member_writes_nothing(tmp_path, capsys):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("train/happy/Training_1.png", png())
        handle.writestr("train/happy/Training_2.png", b"garbage")
    code, out = run(tmp_path, archive)
    assert code == 2 and not out.exists()
    assert "a.zip: train/happy/Training_2.png: unreadable or corrupt image" in capsys.readouterr().err
