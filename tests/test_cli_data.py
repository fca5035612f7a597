import json

from ferkit.cli import main


def test_prepare_then_info_table_json_and_plot(kaggle_tree, tmp_path, capsys):
    assert main(["data", "prepare", str(kaggle_tree), "--out", str(tmp_path / "s")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["data", "info", str(tmp_path / "s.npz"), "--plot", str(tmp_path / "counts.png")]) == 0
    out = capsys.readouterr().out
    assert "Training" in out and "disgust" in out
    assert (tmp_path / "counts.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["data", "info", str(tmp_path / "s.npz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["PublicTest"]["happy"] == 2


def test_info_on_a_file_that_is_not_a_store(tmp_path, capsys):
    (tmp_path / "x.npz").write_bytes(b"nope")
    assert main(["data", "info", str(tmp_path / "x.npz")]) == 2
    assert "not a ferkit store" in capsys.readouterr().err
