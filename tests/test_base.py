import io

import pytest

from ferkit.atomic import atomic_write
from ferkit.labels import age_range, disgust_merge_map
from ferkit.progress import Progress


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    atomic_write(target, lambda tmp: open(tmp, "w").write("first"))
    assert target.read_text() == "first"

    def broken(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "first" and [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_progress_line_for_logs():
    stream = io.StringIO()
    with Progress(10, "work", "item", stream=stream) as bar:
        bar.update(4, "ok")
    line = stream.getvalue()
    assert line.startswith("work [#########") and "4/10" in line and "item/s" in line and line.endswith("\n")
    assert line.count("\n") == 1  # a log file gets one line, not a redraw per update


def test_progress_in_a_log_shows_a_line_a_minute(monkeypatch):
    """A detached run's log tells how far it is before it ends, without a line per update."""
    import types

    import ferkit.progress

    now = [0.0]
    monkeypatch.setattr(ferkit.progress, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    stream = io.StringIO()
    with Progress(5, "work", "item", stream=stream) as bar:
        for seconds in (30, 61, 90, 125):
            now[0] = seconds
            bar.update(1)
    lines = stream.getvalue().splitlines()
    assert [line.split("] ")[1].split()[0] for line in lines] == ["2/5", "4/5", "4/5"]  # at 61 s, 125 s, the end


def test_age_ranges_and_label_maps():
    assert [age_range(a) for a in (0, 2.4, 3, 19.6, 45, 69, 70, 116)] == [
        "0-2",
        "0-2",
        "3-9",
        "20-29",
        "40-49",
        "60-69",
        "70+",
        "70+",
    ]
    assert disgust_merge_map("fer2013") == [0, 0, 1, 2, 3, 4, 5]
