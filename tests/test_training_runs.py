"""Whole runs on tiny data: the CLI, resume, fine-tuning, FER+ label modes, evaluation."""

import contextlib
import csv
import dataclasses
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")

from conftest import make_tiny_store, write_ferplus_tree  # noqa: E402
from ferkit.cli import main  # noqa: E402
from ferkit.config import Config  # noqa: E402
from ferkit.training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint  # noqa: E402
from ferkit.training.data import LABEL_MODES  # noqa: E402
from ferkit.training.trainer import train  # noqa: E402

FAST = ["model.name=cnn_basic", "train.batch_size=32", "train.threads=1"]


def as_flags(*settings: str) -> list[str]:
    """`--set KEY=VALUE` for each setting, as a user types them."""
    return [flag for setting in settings for flag in ("--set", setting)]


def metrics(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def test_cli_trains_one_epoch(tiny_store, tmp_path, capsys):
    args = [
        "train",
        "--no-progress",
        *as_flags(*FAST, f"data.store={tiny_store}", "train.epochs=1", f"train.out_dir={tmp_path}", "train.name=one"),
    ]
    assert main(args) == 0
    run = tmp_path / "one"
    expected = {
        "config.yaml",
        "metrics.csv",
        "last.pt",
        "best.pt",
        "curves.png",
        "summary.json",
        "eval-PrivateTest.json",
        "eval-PublicTest-tencrop.json",
        "confusion-PrivateTest.png",
    }
    assert expected <= {p.name for p in run.iterdir()}
    assert len(metrics(run)) == 1
    assert Config.load(run / "config.yaml").data.store == str(tiny_store)
    report = json.loads((run / "eval-PrivateTest.json").read_text())
    assert report["count"] == 98 and len(report["confusion"]) == 7
    assert "best validation accuracy" in capsys.readouterr().out


def test_resume_after_the_first_of_two_epochs(tiny_store, tmp_path):
    """Stop after epoch 1 of a 2-epoch run (as a killed session would) and resume: same as straight."""
    base = [*FAST, f"data.store={tiny_store}", "train.epochs=2", f"train.out_dir={tmp_path}"]
    train(Config.load(None, [*base, "train.name=straight"]), progress=False, final_report=False)
    stopped = Config.load(None, [*base, "train.name=stopped"])
    assert train(stopped, progress=False, final_report=False, stop_after=1).epochs_done == 1
    assert len(metrics(tmp_path / "stopped")) == 1
    # As a checkpoint written before the score was renamed (the committed training states) has it.
    older = load_checkpoint(tmp_path / "stopped" / "last.pt").payload()
    older["best_val_acc"] = older.pop("best_score")
    torch.save(older, tmp_path / "stopped" / "last.pt")
    assert load_checkpoint(tmp_path / "stopped" / "last.pt").best_score == older["best_val_acc"]
    train(Config(), resume=tmp_path / "stopped", progress=False, final_report=False)
    a, b = metrics(tmp_path / "straight"), metrics(tmp_path / "stopped")
    assert [r["val_acc"] for r in a] == [r["val_acc"] for r in b]
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    weights_a = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)["model"]
    weights_b = torch.load(tmp_path / "stopped" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


def test_a_weight_average_is_what_a_run_answers_with_and_resumes_exactly(tiny_store, tmp_path):
    """train.ema_decay: the checkpoint's weights are the average, the optimiser's weights ride beside them, and a
    run stopped after its first epoch ends exactly where a straight one does."""
    from ferkit.errors import ConfigError

    base = [*FAST, f"data.store={tiny_store}", "train.epochs=2", f"train.out_dir={tmp_path}", "train.ema_decay=0.9"]
    train(Config.load(None, [*base, "train.name=straight"]), progress=False, final_report=False)
    train(Config.load(None, [*base, "train.name=stopped"]), progress=False, final_report=False, stop_after=1)
    train(Config(), resume=tmp_path / "stopped", progress=False, final_report=False)
    figures = [[row[key] for key in ("train_loss", "val_loss", "val_acc")] for row in metrics(tmp_path / "straight")]
    assert figures == [
        [row[key] for key in ("train_loss", "val_loss", "val_acc")] for row in metrics(tmp_path / "stopped")
    ]
    straight, stopped = (load_checkpoint(tmp_path / name / "last.pt") for name in ("straight", "stopped"))
    assert straight.trained is not None and stopped.trained is not None
    for weights in ("model", "trained"):
        a, b = getattr(straight, weights), getattr(stopped, weights)
        assert all(torch.equal(a[key], b[key]) for key in a), weights
    averaged = [key for key in straight.model if straight.model[key].is_floating_point()]
    assert any(not torch.equal(straight.model[key], straight.trained[key]) for key in averaged)
    with pytest.raises(ConfigError, match="ema_decay"):
        train(Config.load(None, [*base, "train.name=bad", "train.ema_decay=1"]), progress=False)


def test_a_second_run_with_the_same_name_is_refused(tiny_store, tmp_path, capsys):
    settings = [f"data.store={tiny_store}", *FAST, "train.epochs=1", f"train.out_dir={tmp_path}", "train.name=dup"]
    train(Config.load(None, settings), progress=False, final_report=False)
    args = ["train", "--no-progress", *as_flags(*settings)]
    assert main(args) == 2
    assert "resume it with --resume" in capsys.readouterr().err


def test_finetune_trains_on_train_plus_val(tiny_store, tmp_path):
    base = [*FAST, f"data.store={tiny_store}", "train.epochs=1", f"train.out_dir={tmp_path}"]
    first = train(Config.load(None, [*base, "train.name=first"]), progress=False, final_report=False)
    # A source trained on other pixel statistics: the tuned model must keep them, not re-measure its own.
    source = load_checkpoint(first.run_dir / "best.pt")
    pixels = dataclasses.replace(source.card.preprocessing, mean=0.25, std=0.5)
    save_checkpoint(
        dataclasses.replace(source, card=dataclasses.replace(source.card, preprocessing=pixels)), tmp_path / "source.pt"
    )
    tuned = Config.load(None, [*base, "train.name=tuned", "optim.lr=0.001"])
    train(tuned, finetune=tmp_path / "source.pt", progress=False, final_report=False)
    saved = Config.load(tmp_path / "tuned" / "config.yaml")
    assert saved.data.train_splits == ["Training", "PublicTest"] and saved.schedule.name == "cosine"
    tuned_pixels = load_checkpoint(tmp_path / "tuned" / "last.pt").card.preprocessing
    assert (tuned_pixels.mean, tuned_pixels.std) == (0.25, 0.5)


def test_init_transfers_weights_to_a_new_label_set(tiny_store, tmp_path, capsys):
    """FER2013 (7 classes) -> FER+ (8): everything but the head starts from the source, which keeps selecting."""
    from ferkit.data import prepare

    base = [*FAST, "train.epochs=1", f"train.out_dir={tmp_path}"]
    first = train(
        Config.load(None, [*base, f"data.store={tiny_store}", "train.name=fer"]), progress=False, final_report=False
    )
    write_ferplus_tree(tmp_path / "fp")
    prepare(tmp_path / "fp", tmp_path / "fp.npz")
    # lr 0 keeps the learnt parameters where the start put them, so they can be compared with the source.
    plus = Config.load(
        None,
        [
            *base,
            f"data.store={tmp_path / 'fp.npz'}",
            "data.label_mode=crossentropy",
            "train.batch_size=2",
            "optim.lr=0",
            f"model.init={first.run_dir / 'best.pt'}",
            "train.name=plus",
        ],
    )
    train(plus, progress=False, final_report=False)
    source, moved = load_checkpoint(first.run_dir / "best.pt"), load_checkpoint(tmp_path / "plus" / "best.pt")
    parameters = dict(model_from_checkpoint(moved)[0].named_parameters())
    kept = [k for k in parameters if moved.model[k].shape == source.model[k].shape]
    fresh = [k for k in parameters if k not in kept]
    assert kept and all(torch.equal(moved.model[k], source.model[k]) for k in kept)
    assert fresh and all(moved.model[k].shape[0] == 8 for k in fresh)
    assert "fresh: " in capsys.readouterr().out
    assert moved.card.preprocessing.mean == source.card.preprocessing.mean
    assert Config.load(tmp_path / "plus" / "config.yaml").model.init == str(first.run_dir / "best.pt")


def test_init_from_another_network_is_refused_before_a_run_starts(tiny_store, tmp_path, capsys):
    base = [*FAST, "train.epochs=1", f"train.out_dir={tmp_path}", f"data.store={tiny_store}"]
    first = train(Config.load(None, [*base, "train.name=first"]), progress=False, final_report=False)
    args = [
        "train",
        "--no-progress",
        *as_flags(*base, "model.name=mini_xception", f"model.init={first.run_dir / 'best.pt'}", "train.name=other"),
    ]
    assert main(args) == 2
    assert "holds a cnn_basic, but model.name is mini_xception" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("mode", [m for m in LABEL_MODES if m != "age"])
def test_ferplus_label_modes(tmp_path, mode):
    from conftest import write_ferplus_tree
    from ferkit.data import prepare

    write_ferplus_tree(tmp_path / "fp")
    prepare(tmp_path / "fp", tmp_path / "fp.npz")
    config = Config.load(
        None,
        [
            *FAST,
            f"data.store={tmp_path / 'fp.npz'}",
            f"data.label_mode={mode}",
            "train.epochs=1",
            "train.batch_size=2",
            f"train.out_dir={tmp_path}",
            f"train.name={mode}",
        ],
    )
    result = train(config, progress=False, final_report=False)
    assert result.epochs_done == 1


def test_vote_modes_learn_from_faces_without_a_majority(tmp_path):
    from conftest import write_ferplus_tree
    from ferkit.data import prepare
    from ferkit.labels import FERPLUS_CLASSES
    from ferkit.training.data import split_tensors

    write_ferplus_tree(tmp_path / "fp")
    store = prepare(tmp_path / "fp", tmp_path / "fp.npz")
    by_votes = split_tensors(store, ["Training"], "crossentropy", 48)
    by_majority = split_tensors(store, ["Training"], "majority", 48)
    # fer0000002's votes lead with disgust (4 of 10): no majority label, but a vote distribution to learn.
    assert len(by_votes) == len(by_majority) + 1
    assert FERPLUS_CLASSES.index("disgust") in by_votes.labels.tolist()
    assert FERPLUS_CLASSES.index("disgust") not in by_majority.labels.tolist()


def test_vote_modes_need_votes(tiny_store, tmp_path, capsys):
    args = [
        "train",
        "--no-progress",
        *as_flags(f"data.store={tiny_store}", "data.label_mode=crossentropy", f"train.out_dir={tmp_path}"),
    ]
    assert main(args) == 2
    assert "needs FER+ votes" in capsys.readouterr().err


def test_evaluate_cli_writes_json_and_plot(tiny_store, tmp_path, capsys):
    run = train(
        Config.load(
            None, [*FAST, f"data.store={tiny_store}", "train.epochs=1", f"train.out_dir={tmp_path}", "train.name=ev"]
        ),
        progress=False,
        final_report=False,
    ).run_dir
    code = main(
        [
            "evaluate",
            str(run / "best.pt"),
            "--store",
            str(tiny_store),
            "--split",
            "test",
            "--views",
            "ten",
            "--json",
            str(tmp_path / "r.json"),
            "--plot",
            str(tmp_path / "cm.png"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "images/s" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["split"] == "PrivateTest" and report["views"] == "ten" and sum(map(sum, report["confusion"])) == 98
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_a_tiny_model_learns_the_tiny_task(tiny_store, tmp_path):
    """The fixture's classes differ by a bright band: a few epochs must beat chance (1/7) by far."""
    config = Config.load(
        None,
        [
            *FAST,
            f"data.store={tiny_store}",
            "train.epochs=6",
            f"train.out_dir={tmp_path}",
            "train.name=learn",
            "augment.rotate=0",
            "augment.erase=0",
            "augment.zoom=0",
            "optim.lr=0.01",
        ],
    )
    assert train(config, progress=False, final_report=False).best_score > 0.6


def test_sweep_grid_writes_table_and_plot(tiny_store, tmp_path, capsys):
    args = [
        "sweep",
        *as_flags(f"data.store={tiny_store}", *FAST, "train.epochs=1"),
        "--optimizers",
        "sgd,adam",
        "--schedulers",
        "cosine,none",
        "--out",
        str(tmp_path / "sw"),
        "--no-progress",
    ]
    assert main(args) == 0
    with open(tmp_path / "sw" / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["optimizer"], r["scheduler"]) for r in rows} == {
        ("sgd", "cosine"),
        ("sgd", "none"),
        ("adam", "cosine"),
        ("adam", "none"),
    }
    assert (tmp_path / "sw" / "sweep.png").stat().st_size > 1000
    assert "best val acc" in capsys.readouterr().out
    assert main(args) == 0  # a rerun finds every cell done and only rewrites the table


def test_compare_puts_models_side_by_side(tiny_store, tmp_path, capsys):
    runs = []
    for name in ("cnn_basic", "mini_xception"):
        config = Config.load(
            None,
            [
                f"model.name={name}",
                "train.threads=1",
                f"data.store={tiny_store}",
                "train.epochs=1",
                "train.batch_size=32",
                f"train.out_dir={tmp_path}",
                f"train.name={name}",
            ],
        )
        runs.append(str(train(config, progress=False, final_report=False).run_dir / "best.pt"))
    capsys.readouterr()
    assert main(["compare", *runs, "--store", str(tiny_store), "--split", "val", "--csv", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "cnn_basic" in out and "mini_xception" in out and "mF1" in out.splitlines()[1]
    with open(tmp_path / "c.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_torchrun_ddp_with_two_cpu_processes(tiny_store, tmp_path):
    """Multi-GPU users run the trainer under torchrun; here two CPU processes talk over gloo."""
    import os
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "ferkit.cli",
        "train",
        "--no-progress",
        *as_flags(*FAST, f"data.store={tiny_store}", "train.epochs=2", f"train.out_dir={tmp_path}", "train.name=ddp"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = metrics(tmp_path / "ddp")
    assert [r["epoch"] for r in rows] == ["1", "2"]  # rank 0 alone writes: no duplicated rows
    assert done.stdout.count("epoch 2/2") == 1
    assert (tmp_path / "ddp" / "best.pt").exists()


def test_age_training_end_to_end(tmp_path, capsys):
    """The age path: UTKFace-style files -> store -> label-distribution training -> MAE -> ONNX -> estimator."""
    from conftest import write_utkface_tree
    from ferkit.data import prepare

    write_utkface_tree(tmp_path / "utk")
    store = prepare(tmp_path / "utk", tmp_path / "utk.npz")
    assert store.label_set == "age" and set(store.attributes) == {"age", "gender", "race"}
    assert set(store.counts()) == {"Training", "PublicTest", "PrivateTest"}
    config = Config.load(
        None,
        [
            "model.name=age_vgg",
            "data.label_mode=age",
            f"data.store={tmp_path / 'utk.npz'}",
            "train.epochs=2",
            "train.batch_size=16",
            f"train.out_dir={tmp_path}",
            "train.name=age",
            "train.threads=1",
            "optim.name=adamw",
            "optim.lr=0.002",
        ],
    )
    result = train(config, progress=False)
    assert "MAE" in capsys.readouterr().out
    assert result.best_score < 0 and result.best().startswith("best validation MAE")
    rows = metrics(tmp_path / "age")
    assert all(float(r["val_mae"]) >= 0 for r in rows)
    report = json.loads((tmp_path / "age" / "eval-PrivateTest.json").read_text())
    assert report["mae"] >= 0 and set(report["mae_by_gender"]) <= {"male", "female"}
    assert main(["export", str(tmp_path / "age" / "best.pt"), "--out", str(tmp_path / "age.onnx")]) == 0
    from ferkit.runtime.age import AgeEstimator

    estimates = AgeEstimator(tmp_path / "age.onnx").estimate([store.images[0], store.images[1]])
    assert len(estimates) == 2 and all(0 <= age <= 100 for age, _ in estimates)
    assert estimates[0][1] in {"0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"}

    # An age model teaches another: its distribution over years blends into the Gaussian around the true age.
    from ferkit.evaluation.teacher import read_teacher_targets
    from ferkit.training.data import Teacher, split_tensors

    teacher_file = tmp_path / "age-teacher.npz"
    assert (
        main(["teacher", str(tmp_path / "age.onnx"), "--store", str(tmp_path / "utk.npz"), "--out", str(teacher_file)])
        == 0
    )
    soft = read_teacher_targets(teacher_file, store)
    plain = split_tensors(store, ["Training"], "age", 64)
    taught = split_tensors(store, ["Training"], "age", 64, teacher=Teacher(soft, 0.5))
    training_rows = torch.from_numpy(soft[store.split_mask("Training")])
    assert torch.allclose(taught.targets, 0.5 * plain.targets + 0.5 * training_rows, atol=1e-5)


@pytest.mark.parametrize("native", [True, False])
def test_bf16_is_used_only_where_the_cpu_has_it(tiny_store, tmp_path, monkeypatch, capsys, native):
    """Emulated bf16 is an order of magnitude slower than fp32: such CPUs train in fp32, and the run says so."""
    import ferkit.training.trainer as trainer

    monkeypatch.setattr(trainer, "native_bf16", lambda: native)
    autocasts = []
    monkeypatch.setattr(torch, "autocast", lambda *args, **kwargs: autocasts.append(kwargs) or contextlib.nullcontext())
    config = Config.load(
        None,
        [
            *FAST,
            f"data.store={tiny_store}",
            "train.epochs=1",
            f"train.out_dir={tmp_path}",
            "train.name=run",
            "train.precision=bf16",
            "data.limit=64",
        ],
    )
    train(config, progress=False, final_report=False)
    assert bool(autocasts) == native
    assert ("no native bf16" in capsys.readouterr().out) != native
    # The request is kept: resumed on a CPU with bf16, the run uses it again.
    assert Config.load(tmp_path / "run" / "config.yaml").train.precision == "bf16"


def test_distillation_from_a_teacher_file(tmp_path, capsys):
    import numpy as np

    from ferkit.data import load_store
    from ferkit.errors import FerkitError
    from ferkit.evaluation.teacher import read_teacher_targets
    from ferkit.training.data import Teacher, split_tensors

    tiny_store = make_tiny_store(tmp_path / "store", counts=(40, 4, 4))  # the run's final report: few test faces

    pytest.importorskip("onnxruntime", reason="the teacher runs as ONNX")
    assert (
        main(["teacher", "fer2013-int8", "--store", str(tiny_store), "--out", str(tmp_path / "t.npz"), "--no-progress"])
        == 0
    )
    store = load_store(tiny_store)
    soft = read_teacher_targets(tmp_path / "t.npz", store)
    assert soft.shape == (len(store.labels), 7) and np.allclose(soft.sum(1), 1, atol=1e-4)
    plain = split_tensors(store, ["Training"], "majority", 48)
    taught = split_tensors(store, ["Training"], "majority", 48, teacher=Teacher(soft, 0.25))
    training_rows = torch.from_numpy(soft[store.split_mask("Training")])
    assert torch.allclose(taught.targets, 0.75 * plain.targets + 0.25 * training_rows, atol=1e-5)
    sharper = split_tensors(store, ["Training"], "majority", 48, teacher=Teacher(soft, 1.0, temperature=0.5))
    assert (sharper.targets.max(1).values >= training_rows.max(1).values - 1e-6).all()  # T < 1 sharpens

    settings = [f"data.store={tiny_store}", f"data.teacher={tmp_path / 't.npz'}", "train.epochs=1"]
    args = ["train", "--no-progress", *as_flags(*FAST, *settings, f"train.out_dir={tmp_path}", "train.name=student")]
    assert main(args) == 0 and len(metrics(tmp_path / "student")) == 1

    other = make_tiny_store(tmp_path / "other", counts=(3, 2, 2), seed=9)
    with pytest.raises(FerkitError, match="made on another store"):
        read_teacher_targets(tmp_path / "t.npz", load_store(other))
    with pytest.raises(FerkitError, match="not a teacher file"):
        (tmp_path / "junk.npz").write_bytes(b"junk")
        read_teacher_targets(tmp_path / "junk.npz", store)


def test_a_fer2013_teacher_for_ferplus_faces_with_the_mirror(tmp_path):
    """The default student's teacher file: a FER2013 model's answers on FER+'s faces, in FER+'s columns
    (contempt 0), each the mean over the face and its mirror image."""
    import numpy as np

    from ferkit.data import load_store, prepare
    from ferkit.evaluation.teacher import read_teacher_targets
    from ferkit.labels import FER2013_CLASSES, remap_probabilities
    from ferkit.runtime.shipped import load_emotion_model

    pytest.importorskip("onnxruntime", reason="the teacher runs as ONNX")
    write_ferplus_tree(tmp_path / "ferplus")
    prepare(tmp_path / "ferplus", tmp_path / "ferplus.npz", equalize=True)
    out = tmp_path / "t.npz"
    assert (
        main(
            [
                "teacher",
                "fer2013-int8",
                "--store",
                str(tmp_path / "ferplus.npz"),
                "--out",
                str(out),
                "--views",
                "mirror",
            ]
        )
        == 0
    )
    store = load_store(tmp_path / "ferplus.npz")
    taught = read_teacher_targets(out, store)
    model = load_emotion_model("fer2013-int8")
    faces = store.images
    expected = (model.predict_prepared(faces) + model.predict_prepared(np.ascontiguousarray(faces[:, :, ::-1]))) / 2
    assert taught.shape == (len(faces), 8) and (taught[:, 7] == 0).all()
    assert taught == pytest.approx(remap_probabilities(expected, FER2013_CLASSES, store.classes), abs=1e-5)


def test_resume_from_last_pt_alone_chooses_the_best_from_then_on(tiny_store, tmp_path, capsys):
    config = Config.load(
        None, [*FAST, f"data.store={tiny_store}", "train.epochs=2", f"train.out_dir={tmp_path}", "train.name=alone"]
    )
    train(config, progress=False, final_report=False, stop_after=1)
    run = tmp_path / "alone"
    (run / "best.pt").unlink()  # as committed: one resumable file per run
    result = train(config, resume=run, progress=False, final_report=True)
    assert result.epochs_done == 2 and result.best_epoch == 2 and (run / "best.pt").exists()
    assert "chosen from epoch 2 on" in capsys.readouterr().out


def test_reequalize_reaches_the_training_loop(tiny_store, tmp_path):
    """augment.reequalize changes what the network sees: the same seed gives other weights with it on."""
    base = [*FAST, f"data.store={tiny_store}", "train.epochs=1", f"train.out_dir={tmp_path}", "augment.erase=0"]
    for name, share in (("plain", 0.0), ("again", 1.0)):
        config = Config.load(None, [*base, f"train.name={name}", f"augment.reequalize={share}"])
        train(config, progress=False, final_report=False)
    plain = load_checkpoint(tmp_path / "plain" / "last.pt").model
    again = load_checkpoint(tmp_path / "again" / "last.pt").model
    assert any(not torch.equal(plain[key], again[key]) for key in plain)
    assert Config.load(tmp_path / "again" / "config.yaml").augment.reequalize == 1.0


def test_a_teacher_with_a_head_of_its_own(tmp_path):
    """data.teacher_head: the labels and the teacher each teach a head; a one-head checkpoint starts both heads;
    the checkpoint and its ONNX export answer with the heads' mix."""
    import numpy as np

    from ferkit.data import load_store
    from ferkit.evaluation.teacher import read_teacher_targets
    from ferkit.export.onnx import export_onnx
    from ferkit.runtime.recognizer import EmotionRecognizer
    from ferkit.training.data import Teacher, split_tensors
    from ferkit.training.predict import CheckpointPredictor

    pytest.importorskip("onnxruntime", reason="the teacher runs as ONNX")
    tiny_store = make_tiny_store(tmp_path / "store", counts=(40, 4, 4))
    assert main(["teacher", "fer2013-int8", "--store", str(tiny_store), "--out", str(tmp_path / "t.npz")]) == 0
    store = load_store(tiny_store)
    soft = read_teacher_targets(tmp_path / "t.npz", store)
    plain = split_tensors(store, ["Training"], "majority", 48)
    own = split_tensors(store, ["Training"], "majority", 48, teacher=Teacher(soft, 0.3, own_head=True))
    assert torch.equal(own.targets[:, :7], plain.targets)
    assert torch.allclose(own.targets[:, 7:], torch.from_numpy(soft[store.split_mask("Training")]), atol=1e-6)

    base = [
        "model.name=resnet18_v2_quarter",
        "train.batch_size=32",
        "train.threads=1",
        f"data.store={tiny_store}",
        "train.epochs=1",
        f"train.out_dir={tmp_path}",
    ]
    train(Config.load(None, [*base, "train.name=one"]), progress=False, final_report=False)
    one = load_checkpoint(tmp_path / "one" / "last.pt").model
    two_heads = [f"data.teacher={tmp_path / 't.npz'}", "data.teacher_weight=0.3", "data.teacher_head=true"]
    config = Config.load(None, [*base, *two_heads, "train.name=two", f"model.init={tmp_path / 'one' / 'last.pt'}"])
    # Before any step, both heads are the one head: a zero-epoch view of the starting point.
    from ferkit.training.trainer import Trainer, _start_from

    start = Trainer(config, tmp_path / "start", progress=False)
    _start_from(start, load_checkpoint(tmp_path / "one" / "last.pt"))
    assert torch.equal(start.model.fc.weight, one["fc.weight"].repeat(2, 1))
    assert torch.equal(start.model.fc.bias, one["fc.bias"].repeat(2))

    train(config, progress=False, final_report=False)
    checkpoint = tmp_path / "two" / "best.pt"
    model, card = model_from_checkpoint(load_checkpoint(checkpoint))
    assert card.extra["model_kwargs"]["head_mix"] == pytest.approx([0.7, 0.3]) and model.fc.weight.shape[0] == 14
    faces = store.images
    answers = CheckpointPredictor(checkpoint).predict_prepared(faces)
    assert answers.shape == (len(faces), 7) and np.allclose(answers.sum(1), 1, atol=1e-5)
    exported = EmotionRecognizer(export_onnx(checkpoint, tmp_path / "two.onnx")).predict_prepared(faces)
    assert np.abs(exported - answers).max() <= 1e-4

    # The mix is chosen after training: the labels' head alone is another answer, recorded in the card.
    args = ["export", str(checkpoint), "--out", str(tmp_path / "labels.onnx"), "--teacher-share", "0"]
    assert main([*args, "--views", "centre"]) == 0
    labels_head = EmotionRecognizer(tmp_path / "labels.onnx")
    assert labels_head.card.extra["head_mix"] == [1.0, 0.0]
    # A student with the mirror folded in says so in its card, and the analyzer then runs it on the centre crop.
    from ferkit.runtime.analyzer import Analyzer
    from ferkit.views import Views

    assert (
        labels_head.card.views is Views.CENTRE and EmotionRecognizer(tmp_path / "two.onnx").card.views is Views.MIRROR
    )
    assert Analyzer(model=tmp_path / "labels.onnx", detector="none", age=False).views is Views.CENTRE
    assert np.abs(labels_head.predict_prepared(faces) - answers).max() > 1e-3
    assert (
        main(["export", str(tmp_path / "one" / "last.pt"), "--out", str(tmp_path / "x.onnx"), "--teacher-share", "0.5"])
        == 2
    )


def test_extra_faces_join_the_ferplus_store_with_their_teachers_answers(tmp_path):
    """scripts/extra_faces.py merge: unlabelled faces join FER+'s Training split with the FER+ teacher's answer as
    their votes (to a hundredth), the head's teacher file covers old and new faces in the merged store's order, and
    a two-head run reads both."""
    import subprocess
    import sys

    import numpy as np

    from ferkit.data import FerStore, load_store, prepare
    from ferkit.evaluation.teacher import read_teacher_targets
    from ferkit.training.data import Teacher, split_tensors, vote_distribution

    pytest.importorskip("onnxruntime", reason="the teachers run as ONNX")
    write_ferplus_tree(tmp_path / "ferplus")
    prepare(tmp_path / "ferplus", tmp_path / "ferplus.npz", equalize=True)
    ferplus = load_store(tmp_path / "ferplus.npz")
    rng = np.random.default_rng(3)
    FerStore(
        images=rng.integers(0, 256, (6, 48, 48), dtype=np.uint8),
        labels=np.full(6, -1, np.int16),
        splits=np.zeros(6, np.int8),
        source_ids=np.array([f"{i}_0_0_0.jpg" for i in range(6)]),
        classes=ferplus.classes,
        label_set="ferplus",
        source="utkface",
        equalized=True,
    ).save(tmp_path / "faces.npz")
    for store, model, out in (
        ("faces", "ferplus", "plus-on-faces"),
        ("faces", "fer2013-int8", "f13-on-faces"),
        ("ferplus", "fer2013-int8", "head"),
    ):
        command = ["teacher", model, "--store", str(tmp_path / f"{store}.npz"), "--out", str(tmp_path / f"{out}.npz")]
        assert main(command) == 0
    script = Path(__file__).parents[1] / "scripts" / "extra_faces.py"
    flags = {
        "--ferplus": "ferplus.npz",
        "--faces": "faces.npz",
        "--ferplus-teacher": "plus-on-faces.npz",
        "--fer2013-teacher": "f13-on-faces.npz",
        "--head-teacher": "head.npz",
        "--out": "merged.npz",
        "--out-teacher": "merged-head.npz",
    }
    command = [
        sys.executable,
        str(script),
        "merge",
        *[part for f, n in flags.items() for part in (f, str(tmp_path / n))],
    ]
    subprocess.run(command, check=True, capture_output=True)

    faces, merged = load_store(tmp_path / "faces.npz"), load_store(tmp_path / "merged.npz")
    added = np.arange(len(ferplus), len(merged))
    assert len(merged) == len(ferplus) + 6 and (merged.splits[added] == 0).all()
    assert np.array_equal(merged.images[added], faces.images) and np.array_equal(
        merged.votes[: len(ferplus)], ferplus.votes
    )
    shares = read_teacher_targets(tmp_path / "plus-on-faces.npz", faces)
    assert vote_distribution(merged.subset(np.isin(np.arange(len(merged)), added))) == pytest.approx(shares, abs=0.03)
    head = read_teacher_targets(tmp_path / "merged-head.npz", merged)
    expected = np.concatenate(
        [
            read_teacher_targets(tmp_path / "head.npz", ferplus),
            read_teacher_targets(tmp_path / "f13-on-faces.npz", faces),
        ]
    )
    assert head == pytest.approx(expected, abs=1e-6)
    before = split_tensors(ferplus, ["Training"], "probability", 48)
    after = split_tensors(merged, ["Training"], "probability", 48, teacher=Teacher(head, 0.5, own_head=True))
    assert len(after.targets) == len(before.targets) + 6 and after.targets.shape[1] == 2 * len(merged.classes)


def test_extra_faces_keep_every_rare_face_and_fill_up_with_the_rest():
    """chosen_faces: faces either teacher reads as neither neutral nor happy all join; the rest fill up to the
    limit, never past the faces there are."""
    import importlib.util

    import numpy as np

    from ferkit.labels import FERPLUS_CLASSES

    spec = importlib.util.spec_from_file_location(
        "extra_faces", Path(__file__).parents[1] / "scripts" / "extra_faces.py"
    )
    extra_faces = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extra_faces)
    neutral, happy, anger = (FERPLUS_CLASSES.index(name) for name in ("neutral", "happiness", "anger"))
    plus = np.eye(8)[[neutral, happy, anger, neutral, happy, neutral]]
    fer2013 = np.eye(8)[[neutral, anger, neutral, neutral, happy, happy]]
    chosen = extra_faces.chosen_faces(plus, fer2013, FERPLUS_CLASSES, limit=3)
    assert {1, 2} <= set(chosen) and len(chosen) == 3 and list(chosen) == sorted(chosen)
    assert list(extra_faces.chosen_faces(plus, fer2013, FERPLUS_CLASSES, limit=0)) == list(range(6))
    assert list(extra_faces.chosen_faces(plus, fer2013, FERPLUS_CLASSES, limit=1)) == [1, 2]


def test_the_best_epoch_is_chosen_by_every_label_set_of_the_validation_faces(tmp_path):
    """data.also_validate_on: a FER+ store's validation faces are found by their pixels in a FER2013 store (in
    another order), the answers are read in its seven classes, and the epoch kept is the one whose mean of the two
    accuracies is highest. The other accuracy is checked against `ferkit evaluate` on that store."""
    import numpy as np

    from ferkit.data import FerStore
    from ferkit.labels import FER2013_CLASSES, FERPLUS_CLASSES

    rng = np.random.default_rng(7)
    splits = np.repeat(np.array([0, 1, 2], np.int8), [120, 40, 20])
    faces = rng.integers(0, 256, (len(splits), 48, 48), dtype=np.uint8)  # noise: each face's only copy is itself
    common = dict(source_ids=np.array([f"{i}.png" for i in range(len(splits))]), equalized=False)
    FerStore(
        images=faces,
        labels=rng.integers(0, len(FERPLUS_CLASSES), len(splits)).astype(np.int16),
        splits=splits,
        classes=FERPLUS_CLASSES,
        label_set="ferplus",
        source="test",
        **common,
    ).save(tmp_path / "plus.npz")
    # The same faces with their own labels, the validation split reversed so that only the pixels can pair them.
    order = np.concatenate([np.flatnonzero(splits != 1), np.flatnonzero(splits == 1)[::-1]])
    FerStore(
        images=faces[order],
        labels=rng.integers(0, len(FER2013_CLASSES), len(splits)).astype(np.int16),
        splits=splits[order],
        classes=FER2013_CLASSES,
        label_set="fer2013",
        source="test",
        **common,
    ).save(tmp_path / "f13.npz")
    config = Config.load(
        None,
        [
            *FAST,
            f"data.store={tmp_path / 'plus.npz'}",
            f"data.also_validate_on=[{tmp_path / 'f13.npz'}]",
            "train.epochs=3",
            "optim.lr=0.05",
            f"train.out_dir={tmp_path}",
            "train.name=both",
        ],
    )
    result = train(config, progress=False, final_report=False)
    rows = metrics(tmp_path / "both")
    scores = [float(row["score"]) for row in rows]
    for row, score in zip(rows, scores):
        assert score == pytest.approx((float(row["val_acc"]) + float(row["val_acc_other"])) / 2, abs=1e-5)
    assert result.best_epoch == 1 + int(np.argmax(scores))
    assert result.best_score == pytest.approx(max(scores), abs=1e-5)
    report = tmp_path / "f13-last.json"
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "both" / "last.pt"),
                "--store",
                str(tmp_path / "f13.npz"),
                "--split",
                "val",
                "--json",
                str(report),
            ]
        )
        == 0
    )
    assert float(rows[-1]["val_acc_other"]) == pytest.approx(json.loads(report.read_text())["accuracy"], abs=1e-5)


def test_validation_faces_found_in_no_other_store_are_refused(tmp_path, tiny_store):
    """A store that holds none of the validation faces is a mistake in the config, said before training."""
    from ferkit.errors import ConfigError

    other = make_tiny_store(tmp_path / "other", counts=(2, 2, 2), seed=9)
    config = Config.load(
        None,
        [*FAST, f"data.store={tiny_store}", f"data.also_validate_on=[{other}]", f"train.out_dir={tmp_path}"],
    )
    with pytest.raises(ConfigError, match="also_validate_on"):
        train(config, progress=False, final_report=False)


def test_a_student_sees_the_very_views_its_teacher_answered_on(tmp_path, capsys):
    """data.teacher_views (consistent distillation): `ferkit teacher --augmented-views K` records the teacher's
    answer on K passes of the recipe's augmentation; a run draws a pass again, view for view, and moves the given
    share of each teacher target to the answer on the view its batch shows. Views cut for another augmentation,
    or without a teacher to blend into, are refused."""
    import numpy as np
    import yaml

    from ferkit.data import load_store
    from ferkit.errors import ConfigError
    from ferkit.runtime.shipped import load_emotion_model
    from ferkit.training.teacher_views import read_teacher_views
    from ferkit.training.trainer import Trainer

    pytest.importorskip("onnxruntime", reason="the teacher runs as ONNX")
    store_path = make_tiny_store(tmp_path / "store", counts=(12, 2, 2))  # equalised, as the Kaggle faces are
    store = load_store(store_path)
    raw_store = dataclasses.replace(store, equalized=False).save(tmp_path / "raw.npz")  # as FER+'s PNGs are
    recipe = {
        "data": {"store": str(store_path)},
        "model": {"name": "resnet18_v2_quarter"},
        "augment": {"rotate": 15, "blur": 0.5, "low_res": 0.5, "reequalize": 0.5, "erase": 0.5},
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    teacher = ["teacher", "fer2013-ensemble", "--store", str(store_path), "--no-progress"]
    views_file = tmp_path / "views.npz"
    assert (
        main([*teacher, "--augmented-views", "2", "--recipe", str(tmp_path / "recipe.yaml"), "--out", str(views_file)])
        == 0
    )
    assert main([*teacher, "--out", str(tmp_path / "plain.npz")]) == 0
    assert main([*teacher, "--augmented-views", "2", "--out", str(tmp_path / "x.npz")]) != 0  # no recipe named
    raw = ["teacher", "fer2013-ensemble", "--store", str(raw_store), "--out", str(tmp_path / "y")]
    assert main([*raw, "--augmented-views", "2", "--recipe", str(tmp_path / "recipe.yaml")]) != 0
    assert "its faces are raw, the teacher reads equalised ones" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "y").exists()

    views = read_teacher_views(views_file, store)
    training = store.split_mask("Training")
    assert views.passes == 2 and np.array_equal(views.rows, np.flatnonzero(training))
    faces = torch.from_numpy(store.images[views.rows]).unsqueeze(1)
    again = views.draw(faces, 1)[:, 0].numpy() * 255
    ensemble = load_emotion_model("fer2013-ensemble")  # members read 44 and 40 pixels: each its centre of the view
    assert np.abs(ensemble.predict_crops(again) - views.probabilities[1]).max() < 2e-3  # stored as float16
    assert np.abs(views.probabilities[0] - views.probabilities[1]).max() > 0.05  # two passes, two views
    centre = faces[:, 0, 2:46, 2:46].numpy()
    assert np.abs(ensemble.predict_crops(centre) - ensemble.predict_prepared(store.images[views.rows])).max() < 1e-5

    base = [
        f"data.store={store_path}",
        "model.name=resnet18_v2_quarter",
        "augment.rotate=15",
        "augment.blur=0.5",
        "augment.low_res=0.5",
        "augment.reequalize=0.5",
        "train.batch_size=16",
        "train.threads=1",
        "train.epochs=1",
        f"train.out_dir={tmp_path}",
        f"data.teacher={tmp_path / 'plain.npz'}",
        "data.teacher_head=true",
    ]
    config = Config.load(None, [*base, f"data.teacher_views={views_file}", "data.teacher_views_share=0.5"])
    trainer = Trainer(config, tmp_path / "run", progress=False)
    trainer.epoch_views = trainer.cached_views.draw(1)
    index = torch.arange(len(trainer.train_data))
    images, targets = trainer._batch(trainer.train_data, index)
    answers = trainer.epoch_views.answers / trainer.epoch_views.answers.sum(1, keepdim=True)  # float16, renormalised
    assert torch.allclose(targets[:, 7:], 0.5 * trainer.train_data.taught + 0.5 * answers, atol=1e-6)
    mean, std = trainer.card.preprocessing.mean, trainer.card.preprocessing.std
    assert torch.allclose(images * std + mean, torch.from_numpy(again / 255).unsqueeze(1).float(), atol=1e-5)
    train(config, progress=False, final_report=False)

    for wrong in ("augment.rotate=10", "data.teacher="):
        with pytest.raises(ConfigError):
            Trainer(
                Config.load(None, [*base, f"data.teacher_views={views_file}", wrong]), tmp_path / "no", progress=False
            )


def test_compare_runs_reads_each_run_by_its_selection_figure(tmp_path):
    """scripts/compare_runs.py: age runs by their lowest MAE, the last five epochs' mean beside it, and a picture;
    runs selected on different figures are refused."""
    import subprocess
    import sys

    script = Path(__file__).parent.parent / "scripts" / "compare_runs.py"
    header = "epoch,train_loss,train_acc,val_loss,val_acc,val_mae,lr,seconds\n"
    for name, maes in {"steady": [6.0, 5.5, 5.2, 5.1, 5.1, 5.0], "jumpy": [6.0, 4.9, 7.0, 5.6, 6.1, 5.9]}.items():
        (tmp_path / name).mkdir()
        rows = "".join(f"{i + 1},1,0.1,1,0.1,{mae},0.001,10\n" for i, mae in enumerate(maes))
        (tmp_path / name / "metrics.csv").write_text(header + rows)
    (tmp_path / "emotion").mkdir()
    (tmp_path / "emotion" / "metrics.csv").write_text(header + "1,1,0.5,1,0.6,,0.01,10\n")

    def run(*folders):
        args = [sys.executable, str(script), *(str(tmp_path / f) for f in folders), "--plot", str(tmp_path / "p.png")]
        return subprocess.run(args, capture_output=True, text=True)

    done = run("steady", "jumpy")
    assert done.returncode == 0, done.stderr
    assert "steady: 6 epochs; best val_mae 5.0000 at epoch 6; last 5 epochs mean 5.1800" in done.stdout
    assert "jumpy: 6 epochs; best val_mae 4.9000 at epoch 2; last 5 epochs mean 5.9000" in done.stdout
    assert (tmp_path / "p.png").stat().st_size > 0
    refused = run("steady", "emotion")
    assert refused.returncode == 2 and "different figures" in refused.stderr
