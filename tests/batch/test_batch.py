import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pq = pytest.importorskip("pyarrow.parquet", reason="batch needs pyarrow (batch extra)")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import shared_data_dir  # noqa: E402
from ferkit.batch.inputs import list_inputs  # noqa: E402
from ferkit.batch.run import run_batch  # noqa: E402
from ferkit.batch.work import WorkSpec  # noqa: E402
from ferkit.cli import main  # noqa: E402
from ferkit.errors import FerkitError  # noqa: E402
from ferkit.runtime.options import VideoOptions  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    samples = shared_data_dir() / "samples"
    if not (samples / "photos").is_dir():
        pytest.skip(f"shared samples not found at {samples}; CI runs this test")
    folder = tmp_path_factory.mktemp("inputs")
    for name in ("obama.jpg", "two_people.jpg", "kit_with_rose.jpg", "obama_small.jpg"):
        shutil.copy(samples / "photos" / name, folder / name)
    cv2.imwrite(str(folder / "wall.png"), np.full((200, 300, 3), 120, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 torn")
    shutil.copy(samples / "video" / "short_hamilton_clip.mp4", folder / "clip.mp4")
    return folder


def rows(path):
    return pq.read_table(path).to_pylist()


@pytest.fixture(scope="module")
def local_result(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "results.parquet"
    summary = run_batch(str(inputs), out, WorkSpec(video=VideoOptions(every=50)), workers=2, progress=False)
    return summary, out


def test_one_row_per_face_and_rows_for_the_rest(local_result, inputs):
    summary, out = local_result
    table = rows(out)
    assert summary.inputs == summary.processed == 7 and summary.rows == len(table)
    by_path = {}
    for row in table:
        by_path.setdefault(Path(row["path"]).name, []).append(row)
    assert len(by_path["two_people.jpg"]) == 2 and {r["face_id"] for r in by_path["two_people.jpg"]} == {0, 1}
    assert [r["status"] for r in by_path["wall.png"]] == ["no_face"]
    assert by_path["broken.jpg"][0]["status"] == "error" and "corrupt" in by_path["broken.jpg"][0]["error"]
    assert {r["frame"] for r in by_path["clip.mp4"]} == set(range(0, 275, 50))
    face = by_path["obama.jpg"][0]
    assert sum(face[k] for k in face if k.startswith("p_")) == pytest.approx(1, abs=1e-3)
    assert face["emotion"] == max((k for k in face if k.startswith("p_")), key=face.get)[2:]


def test_rerun_resumes(local_result, inputs, tmp_path):
    _, full = local_result
    out = tmp_path / "resumed.parquet"
    first = run_batch(str(inputs / "*.jpg"), out, WorkSpec(video=VideoOptions(every=50)), workers=1, progress=False)
    assert first.processed == 5  # four photos and the broken file
    second = run_batch(str(inputs), out, WorkSpec(video=VideoOptions(every=50)), workers=2, progress=False)
    assert (second.skipped, second.processed) == (5, 2)
    assert rows(out) == rows(full)
    assert run_batch(str(inputs), out, progress=False).processed == 0


def test_interrupted_parts_are_kept(inputs, tmp_path):
    """A run killed after some chunks leaves part files; the rerun counts them as done."""
    from ferkit.batch.store import ResultStore
    from ferkit.batch.work import Worker

    out = tmp_path / "r.parquet"
    from ferkit.runtime.shipped import load_emotion_model

    store = ResultStore(out, list(load_emotion_model().classes))
    store.write_part(Worker(WorkSpec()).rows(str(inputs / "obama.jpg")))
    summary = run_batch(str(inputs / "*.jpg"), out, progress=False)
    assert (summary.skipped, summary.processed) == (1, 4)
    assert not out.with_name(out.name + ".parts").exists()


def test_input_lists(inputs, tmp_path):
    import pyarrow as pa

    names = [str(inputs / "obama.jpg"), str(inputs / "wall.png")]
    (tmp_path / "list.txt").write_text("# inputs\n" + "\n".join(names) + "\n")
    pq.write_table(pa.table({"path": names, "other": [1, 2]}), tmp_path / "list.parquet")
    assert list_inputs(str(tmp_path / "list.txt")) == names  # absolute already
    assert list_inputs(str(tmp_path / "list.parquet")) == names
    with pytest.raises(FerkitError, match="cannot read a 'path' column"):
        pq.write_table(pa.table({"file": names}), tmp_path / "bad.parquet")
        list_inputs(str(tmp_path / "bad.parquet"))
    with pytest.raises(FerkitError, match="no such folder"):
        list_inputs(str(tmp_path / "missing" / "*.jpg"))


def test_cli_batch_and_bad_engine(inputs, tmp_path, capsys):
    assert main(["batch", str(inputs / "obama*.jpg"), "--out", str(tmp_path / "o.parquet"), "--no-progress"]) == 0
    assert "2 inputs: 0 already done, 2 analysed" in capsys.readouterr().out
    assert main(["batch", str(inputs), "--out", str(tmp_path / "x.parquet"), "--engine", "spark"]) == 2
    assert "unknown engine 'spark'" in capsys.readouterr().err


def test_cli_batch_exits_1_and_counts_failed_inputs(inputs, tmp_path, capsys):
    """analyze exits 1 when an input fails; so does batch, and it says how many (a rerun too: they stay failed)."""
    out = tmp_path / "f.parquet"
    for _ in range(2):
        assert main(["batch", str(inputs / "*.jpg"), "--out", str(out), "--no-progress"]) == 1
        assert "1 input(s) failed" in capsys.readouterr().err


def test_rerun_by_another_spelling_of_the_same_paths_adds_nothing(inputs, tmp_path, monkeypatch):
    """The same photos named once relatively and once absolutely are the same inputs."""
    out = tmp_path / "same.parquet"
    monkeypatch.chdir(inputs)
    first = run_batch("obama*.jpg", out, progress=False)
    second = run_batch(str(inputs / "obama*.jpg"), out, progress=False)
    assert (first.processed, second.skipped, second.processed) == (2, 2, 0)
    assert len(rows(out)) == first.rows and all(Path(row["path"]).is_absolute() for row in rows(out))
    # A linked folder leads to the same files: skipped too, and named by their real path.
    (tmp_path / "linked").symlink_to(inputs, target_is_directory=True)
    third = run_batch(str(tmp_path / "linked" / "obama*.jpg"), out, progress=False)
    assert (third.skipped, third.processed, len(rows(out))) == (2, 0, first.rows)


def test_ray_engine_gives_the_same_rows(local_result, inputs, tmp_path):
    pytest.importorskip("ray", reason="the ray engine needs ray (batch extra)")
    import ray

    _, local_out = local_result
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        summary = run_batch(
            str(inputs),
            tmp_path / "ray.parquet",
            WorkSpec(video=VideoOptions(every=50)),
            engine="ray",
            workers=2,
            progress=False,
        )
    finally:
        ray.shutdown()
    assert summary.processed == 7
    assert rows(tmp_path / "ray.parquet") == rows(local_out)


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--age-model", "/nonexistent.onnx"], "no such model file"),
        (["--detector", "nope"], "unknown detector 'nope'"),
        (["--threshold", "1.5"], "threshold must be between 0 and 1"),
    ],
)
def test_cli_batch_refuses_bad_options_before_starting(inputs, tmp_path, capsys, flags, message):
    out = tmp_path / "o.parquet"
    assert main(["batch", str(inputs / "obama.jpg"), "--out", str(out), "--no-progress", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_batch_rows_are_the_face_row_with_where_and_why():
    from ferkit.batch.work import empty_row, face_row, row_fields
    from ferkit.runtime.results import FaceResult

    face = FaceResult(0, (1, 2, 3, 4), 0.5, {"happy": 0.25, "sad": 0.75}, "sad")
    row = face_row("a.jpg", -1, face)
    assert list(row) == row_fields(["happy", "sad"])
    assert row["p_sad"] == 0.75 and row["status"] == "face" and row["x2"] == 3
    assert set(empty_row("b.jpg", 4, "no_face")) <= set(row_fields(["happy", "sad"]))
