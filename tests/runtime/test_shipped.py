"""Shipped models by name: every registry entry is in the package and loads with its own metadata."""

import pytest

from ferkit.cli import main
from ferkit.errors import FerkitError
from ferkit.labels import FER2013_CLASSES, FERPLUS_CLASSES, canonical
from ferkit.runtime.analyzer import Analyzer
from ferkit.runtime.shipped import DEFAULT_EMOTION, EMOTION_MODELS, emotion_model_path, load_emotion_model

# Every model answers in one vocabulary: FER+'s happiness, sadness and anger are happy, sad and angry.
FERPLUS_ANSWERS = tuple(canonical(name) for name in FERPLUS_CLASSES)
EXPECTED_CLASSES = {
    "fer2013-resnet": FER2013_CLASSES,
    "fer2013-fast": FER2013_CLASSES,
    "fer2013": FER2013_CLASSES,
    "fer2013-int8": FER2013_CLASSES,
    "ferplus": FERPLUS_ANSWERS,
    "fer2013-ensemble": FER2013_CLASSES,
    "ferplus-ensemble": FERPLUS_ANSWERS,
    "both": FERPLUS_ANSWERS,
}


@pytest.mark.parametrize("name", EMOTION_MODELS)
def test_every_registered_model_is_shipped_and_self_describing(name):
    recognizer = load_emotion_model(name)
    assert all(path.stat().st_size <= 30 * 1024 * 1024 for path in recognizer.files)
    assert recognizer.classes == tuple(EXPECTED_CLASSES[name])
    assert {"PublicTest", "PrivateTest"} <= set(recognizer.card.metrics)


def test_default_and_paths_resolve(tmp_path):
    assert emotion_model_path(None) == EMOTION_MODELS[DEFAULT_EMOTION]
    assert emotion_model_path(tmp_path / "mine.onnx") == tmp_path / "mine.onnx"


def test_unknown_name_is_a_clear_error(capsys):
    with pytest.raises(FerkitError, match="unknown model 'fer2014'.*fer2013"):
        emotion_model_path("fer2014")
    assert main(["analyze", "x.jpg", "--model", "fer2014"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_analyzer_takes_a_name():
    analyzer = Analyzer(model="ferplus", age=False)
    assert analyzer.recognizer.path == EMOTION_MODELS["ferplus"] and analyzer.classes == FERPLUS_ANSWERS
    assert set(analyzer.classes) - set(FER2013_CLASSES) == {"contempt"}  # the same columns, and contempt


def test_models_lists_the_shipped_models_with_their_test_sets(capsys):
    import importlib.util

    from ferkit.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in EMOTION_MODELS:
        assert f"\n  {name} " in out
    assert "FER2013 PrivateTest" in out and "FER+ PrivateTest (majority faces)" in out
    if importlib.util.find_spec("torch") is None:  # the README's runtime-only install
        assert "install the train extra" in out
    else:
        assert "vgg_khaireddin" in out


def test_models_speed_times_every_shipped_model_on_this_cpu(capsys):
    from ferkit.cli import main

    assert main(["models", "--speed", "0.05"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ") and line.split()[0] in EMOTION_MODELS]
    assert len(rows) == len(EMOTION_MODELS)
    rates = [float(cell) for row in rows for cell, after in zip(row, row[1:]) if after.startswith("[")]
    assert len(rates) == len(rows) and all(rate > 0 for rate in rates)
    assert "crops/s: batch 64" in out and "CPU " in out


def test_a_student_with_the_mirror_folded_in_runs_on_the_centre_crop_alone():
    """`both` was taught on mirror-averaged targets: its card says centre, and the analyzer, the service's pool
    and `evaluate --views own` then ask one view per face; fer2013-resnet, taught on single views, asks two."""
    from ferkit.runtime.analyzer import Analyzer
    from ferkit.views import Views

    assert load_emotion_model("both").card.views is Views.CENTRE
    assert Analyzer(model="both", detector="none", age=False).views is Views.CENTRE
    assert Analyzer(model="both", detector="none", age=False, views="mirror").views is Views.MIRROR
    assert load_emotion_model("fer2013-resnet").card.views is Views.MIRROR
    assert Analyzer(model="fer2013-resnet", detector="none", age=False).views is Views.MIRROR
