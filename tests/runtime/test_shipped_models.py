"""The models inside the package: their recorded metrics are what `ferkit evaluate` measures today."""

import json

import pytest

from ferkit.cli import main
from ferkit.runtime.analyzer import DEFAULT_AGE_MODEL, DEFAULT_EMOTION_MODEL
from ferkit.runtime.recognizer import EmotionRecognizer

SHIPPED = {"emotion": (DEFAULT_EMOTION_MODEL, "fer2013-images.tar.gz", "accuracy"),
           "age": (DEFAULT_AGE_MODEL, "utkface-96px.tar.gz", "mae")}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from conftest import shared_data_dir

    from ferkit.data import prepare

    data = shared_data_dir()
    if not (data / "fer2013-images.tar.gz").exists():
        pytest.skip(f"shared data sets not found at {data}; CI runs this test")
    folder = tmp_path_factory.mktemp("stores")
    stores = {}
    for name, (_, archive, _) in SHIPPED.items():
        prepare(data / archive, folder / f"{name}.npz")
        stores[name] = folder / f"{name}.npz"
    return stores


@pytest.mark.parametrize("kind", SHIPPED)
def test_shipped_model_is_small_and_self_describing(kind):
    path = SHIPPED[kind][0]
    assert path.is_file(), f"{path} is not shipped"
    assert path.stat().st_size <= (30 if kind == "emotion" else 10) * 1024 * 1024
    meta = EmotionRecognizer(path).meta
    assert {"classes", "preprocessing", "data_hash", "metrics", "arch"} <= set(meta)
    assert {"PublicTest", "PrivateTest"} <= set(meta["metrics"])


@pytest.mark.parametrize("kind", SHIPPED)
def test_evaluate_reproduces_the_recorded_numbers(kind, stores, tmp_path, capsys):
    path, _, metric = SHIPPED[kind]
    recorded = EmotionRecognizer(path).meta["metrics"]
    for split in ("PublicTest", "PrivateTest"):
        out = tmp_path / f"{split}.json"
        assert main(["evaluate", str(path), "--store", str(stores[kind]), "--split", split, "--json", str(out)]) == 0
        measured = json.loads(out.read_text())
        assert measured[metric] == pytest.approx(recorded[split][metric], abs=1e-9), split
    # The store the numbers were measured on is the one this ingest makes today.
    from ferkit.data import load_store

    assert load_store(stores[kind]).data_hash() == EmotionRecognizer(path).meta["data_hash"]
