"""Ensembles: several ONNX files averaged behind the recognizer interface, made and checked by a manifest."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from ferkit.cli import main
from ferkit.errors import FerkitError
from ferkit.runtime.analyzer import Analyzer
from ferkit.runtime.ensemble import EnsembleRecognizer, write_manifest
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.runtime.shipped import EMOTION_MODELS, WEIGHTS, load_emotion_model
from ferkit.views import Views


@pytest.fixture
def members(tmp_path):
    """Two different 7-class networks and one 8-class one, copied beside where the manifest will go."""
    names = {"a.onnx": "fer2013", "b.onnx": "fer2013-int8", "plus.onnx": "ferplus"}
    for file, model in names.items():
        shutil.copy(EMOTION_MODELS[model], tmp_path / file)
    return tmp_path


def test_the_ensemble_averages_its_members(members):
    manifest = write_manifest([members / "a.onnx", members / "b.onnx"], members / "ens.json")
    ensemble = load_emotion_model(manifest)
    faces = np.random.default_rng(0).integers(0, 256, (12, 48, 48), dtype=np.uint8)
    # Members' raw probabilities are averaged (each file's own temperature is for using it alone).
    raw = [EmotionRecognizer(members / f, calibrated=False) for f in ("a.onnx", "b.onnx")]
    a, b = (member.predict_prepared(faces) for member in raw)
    assert np.allclose(ensemble.predict_prepared(faces), (a + b) / 2, atol=1e-6)
    ten_a, ten_b = (member.view_probabilities(faces, Views.TEN) for member in raw)
    assert np.allclose(ensemble.predict_prepared(faces, Views.TEN), ((ten_a + ten_b) / 2).mean(0), atol=1e-6)
    assert ensemble.classes == EmotionRecognizer(members / "a.onnx").classes
    assert ensemble.files == [manifest, members / "a.onnx", members / "b.onnx"]
    # Members run one after another: none may keep spinning on the cores the next one needs.
    spinning = [
        m.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        for m in ensemble.members
    ]
    assert spinning == ["0", "0"]


def test_cli_records_metrics_that_evaluate_reproduces(members, tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import make_tiny_store

    tiny_store = make_tiny_store(tmp_path / "store", counts=(2, 4, 4))  # both members, ten crops, both test splits
    out = members / "ens.json"
    assert (
        main(
            [
                "ensemble",
                str(members / "a.onnx"),
                str(members / "b.onnx"),
                "--out",
                str(out),
                "--store",
                str(tiny_store),
            ]
        )
        == 0
    )
    recorded = json.loads(out.read_text())["metrics"]
    # The centre crop, ten crops and the ensemble's own views (the mirror's: what `ferkit analyze` answers on).
    assert {
        f"{split}{views}" for split in ("PublicTest", "PrivateTest") for views in ("", "-tencrop", "-mirror")
    } == set(recorded)
    for views, key in (("centre", "PrivateTest"), ("own", "PrivateTest-mirror")):
        report = tmp_path / "m.json"
        assert main(["evaluate", str(out), "--store", str(tiny_store), "--json", str(report), "--views", views]) == 0
        assert json.loads(report.read_text())["accuracy"] == pytest.approx(recorded[key]["accuracy"], abs=1e-12)


def test_a_changed_member_is_refused(members):
    manifest = write_manifest([members / "a.onnx", members / "b.onnx"], members / "ens.json")
    shutil.copy(members / "plus.onnx", members / "b.onnx")
    with pytest.raises(FerkitError, match="b.onnx is not the file this ensemble was measured with"):
        load_emotion_model(manifest)
    (members / "b.onnx").unlink()
    with pytest.raises(FerkitError, match="b.onnx is missing"):
        load_emotion_model(manifest)


def test_members_must_agree_and_sit_beside_the_manifest(members, tmp_path, capsys):
    with pytest.raises(FerkitError, match="different classes"):
        EnsembleRecognizer.from_files([members / "a.onnx", members / "plus.onnx"])
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    with pytest.raises(FerkitError, match="must sit in the manifest's folder"):
        write_manifest([members / "a.onnx"], elsewhere / "ens.json")
    with pytest.raises(FerkitError, match="is a .json file"):
        write_manifest([members / "a.onnx"], members / "ens.onnx")
    # Refused before measuring: a store that does not exist is never opened.
    assert (
        main(
            [
                "ensemble",
                str(members / "a.onnx"),
                "--out",
                str(elsewhere / "ens.json"),
                "--store",
                str(tmp_path / "no-such-store.npz"),
            ]
        )
        == 2
    )
    assert "must sit in the manifest's folder" in capsys.readouterr().err
    assert (
        main(["ensemble", str(members / "a.onnx"), str(members / "plus.onnx"), "--out", str(members / "x.json")]) == 2
    )
    assert "different classes" in capsys.readouterr().err
    assert not (members / "x.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"kind": "ferkit-ensemble", "members": [{"file": 1}]}',
        '{"kind": "something else", "members": []}',
    ],
)
def test_a_bad_manifest_is_a_clear_error(tmp_path, capsys, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FerkitError, match="not an ensemble manifest"):
        load_emotion_model(path)
    assert main(["evaluate", str(path), "--store", str(tmp_path / "unused.npz")]) == 2
    assert "not an ensemble manifest" in capsys.readouterr().err


def test_the_analyzer_runs_an_ensemble(members, samples):
    manifest = write_manifest([members / "a.onnx", members / "b.onnx"], members / "ens.json")
    photo = sorted((samples / "photos").glob("*.jpg"))[0]
    single = Analyzer(model=members / "a.onnx", age=False).analyze_path(photo)
    ensemble = Analyzer(model=manifest, age=False).analyze_path(photo)
    assert ensemble.faces and [f.bbox for f in ensemble.faces] == [f.bbox for f in single.faces]
    assert all(set(f.probabilities) == set(single.faces[0].probabilities) for f in ensemble.faces)


@pytest.mark.parametrize("manifest", sorted(WEIGHTS.glob("emotion/*.json")), ids=lambda path: path.name)
def test_every_shipped_manifest_reads_and_writes_back_unchanged(manifest, tmp_path):
    """The typed Manifest is the only way a manifest is read or written: a shipped file round-trips through it
    (members and metrics to the same JSON; an older calibration record's `"mirror": true` comes back as its
    views), so repinning or recalibrating one changes only what it means to."""
    from ferkit.runtime.ensemble import _write_manifest, read_manifest

    typed = read_manifest(manifest)
    assert typed.members and typed.metrics and typed.calibration.temperature > 0
    _write_manifest(tmp_path / manifest.name, typed)
    assert read_manifest(tmp_path / manifest.name) == typed
    written, shipped = json.loads((tmp_path / manifest.name).read_text()), json.loads(manifest.read_text())
    assert {k: written[k] for k in ("kind", "members", "metrics")} == {
        k: shipped[k] for k in ("kind", "members", "metrics")
    }
