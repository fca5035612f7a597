"""The training loop: `train(config)` from Python, `ferkit train CONFIG --set k=v` from the shell.

A run folder holds the resolved config, metrics.csv (one row per epoch), last.pt and best.pt,
curves.png, and at the end the validation and test reports with confusion matrices.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import time
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from ferkit.card import MODEL_KWARGS, ModelCard, Preprocessing
from ferkit.config import Config
from ferkit.data import load_store
from ferkit.data.augment import augment_pixels, mix_batch
from ferkit.errors import ConfigError, FerkitError
from ferkit.faces import resize_faces
from ferkit.models import create_model, get_spec
from ferkit.progress import Progress
from ferkit.training import checkpoint as ckpt
from ferkit.training.averaging import WeightAverage
from ferkit.training.classic import CLASSIC_MODELS, train_classic
from ferkit.training.data import SplitTensors, Teacher, normalisation, other_labels, split_tensors
from ferkit.training.losses import inverse_frequency_weights, multi_target_loss, sample_targets, soft_cross_entropy
from ferkit.training.optim import create_optimizer, create_schedule, current_lr
from ferkit.training.predict import predict_probabilities
from ferkit.training.result import RunResult
from ferkit.training.teacher_views import TeacherViews, read_teacher_views
from ferkit.views import Views


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's figures: a row of metrics.csv (its columns are these fields, in this order) and a log line."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    val_mae: float | None  # age models only
    lr: float
    seconds: float
    val_acc_other: float | None = None  # mean over data.also_validate_on's label sets, when it names any
    score: float | None = None  # what chose the best epoch (Validation.score)

    def csv_row(self) -> list[str]:
        values = [getattr(self, name) for name in METRIC_COLUMNS[1:]]
        return [str(self.epoch)] + ["" if value is None else f"{value:.6g}" for value in values]


METRIC_COLUMNS = [item.name for item in fields(EpochRecord)]


@dataclass(frozen=True)
class Validation:
    loss: float
    accuracy: float
    mae: float | None  # age models only
    other_accuracies: tuple[float, ...]  # one per data.also_validate_on store

    @property
    def score(self) -> float:
        """Higher is better, for selection and the plateau: minus the MAE for age models, else the accuracy
        averaged over every label set of the validation faces."""
        if self.mae is not None:
            return -self.mae
        return float(np.mean([self.accuracy, *self.other_accuracies]))

    @property
    def other_accuracy(self) -> float | None:
        return float(np.mean(self.other_accuracies)) if self.other_accuracies else None


class Trainer:
    def __init__(self, config: Config, run_dir: Path, select_best: bool = True, progress: bool = True):
        self.config, self.run_dir, self.select_best, self.show_progress = config, run_dir, select_best, progress
        train_cfg = config.train
        self.val_views = _validation_views(config)
        if train_cfg.threads:
            torch.set_num_threads(train_cfg.threads)
        self.generator = torch.Generator().manual_seed(train_cfg.seed)
        _seed_everything(train_cfg.seed)
        self.bf16 = _use_bf16(train_cfg.precision)

        store = load_store(config.data.store)
        self.spec = get_spec(config.model.name)
        self.classes = list(store.classes)
        self.teacher = _teacher(config, store)
        self.train_data = split_tensors(
            store,
            config.data.train_splits,
            config.data.label_mode,
            self.spec.image_size,
            config.data.limit,
            self.teacher,
        )
        self.cached_views = _cached_views(config, store, self.train_data)
        self.epoch_views: EpochViews | None = None
        self.val_data = split_tensors(store, [config.data.val_split], "majority", self.spec.image_size)
        val_faces = self.val_data.images[:, 0].numpy()
        self.other_labels = [
            other_labels(path, val_faces, config.data.val_split) for path in config.data.also_validate_on
        ]
        # Age models are chosen by mean absolute error (years); emotion models by accuracy.
        self.is_age = store.label_set == "age"
        mean, std = normalisation(self.train_data.images)
        model_kwargs = _model_kwargs(config)
        preprocessing = Preprocessing(self.spec.image_size, self.spec.input_size, bool(store.equalized), mean, std)
        self.card = ModelCard(
            arch=config.model.name,
            classes=tuple(self.classes),
            preprocessing=preprocessing,
            label_set=store.label_set,
            data_hash=store.data_hash(),
            extra={MODEL_KWARGS: model_kwargs},
        )
        self.model = create_model(config.model.name, len(self.classes), **model_kwargs)
        self.head_mix = model_kwargs.get("head_mix")
        if train_cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if train_cfg.compile else self.model
        self.rank, self.world_size = _init_distributed()
        if self.world_size > 1:
            self.forward = torch.nn.parallel.DistributedDataParallel(self.forward)
        self.optimizer = create_optimizer(self.model, config.optim)
        self.average = _weight_average(self.model, train_cfg.ema_decay)
        self.steps_per_epoch = max(len(self.train_data) // train_cfg.batch_size, 1)
        self.schedule = create_schedule(self.optimizer, config.schedule, train_cfg.epochs, self.steps_per_epoch)
        self.class_weights = (
            inverse_frequency_weights(self.train_data.labels, len(self.classes)) if train_cfg.class_weights else None
        )
        self.epoch, self.best_score, self.best_epoch = 0, -float("inf"), 0

    # --- state -------------------------------------------------------------------------------------

    @property
    def answering_model(self) -> torch.nn.Module:
        """The weights the run validates, selects and exports: their average if train.ema_decay is set."""
        return self.average.model if self.average else self.forward

    def state(self) -> ckpt.Checkpoint:
        return ckpt.Checkpoint(
            model=self.average.model.state_dict() if self.average else self.model.state_dict(),
            card=self.card,
            epoch=self.epoch,
            best_score=self.best_score,
            best_epoch=self.best_epoch,
            optimizer=self.optimizer.state_dict(),
            schedule=self.schedule.state_dict(),
            rng=ckpt.rng_state(self.generator),
            config=self.config.to_dict(),
            trained=self.model.state_dict() if self.average else None,
        )

    def load_state(self, state: ckpt.Checkpoint) -> None:
        self.model.load_state_dict(state.trained if state.trained is not None else state.model)
        if self.average:
            self.average.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.schedule.load_state_dict(state.schedule)
        self.epoch, self.best_score, self.best_epoch = state.epoch, state.best_score, state.best_epoch
        # The run's own card: a transfer run keeps the pixel statistics of the weights it started from.
        self.card = state.card
        ckpt.restore_rng(state.rng, self.generator)

    # --- one epoch ----------------------------------------------------------------------------------

    def train_epoch(self) -> tuple[float, float]:
        config, data = self.config, self.train_data
        self.model.train()
        order = torch.randperm(len(data), generator=self.generator)
        batch_size = config.train.batch_size
        total_loss, correct, seen = 0.0, 0, 0
        show = self.show_progress and self.rank == 0
        progress = (
            Progress(self.steps_per_epoch, f"epoch {self.epoch + 1}/{config.train.epochs}", "batch") if show else None
        )
        if self.cached_views:
            self.epoch_views = self.cached_views.draw(
                int(torch.randint(self.cached_views.passes, (1,), generator=self.generator))
            )
        for step in range(self.steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            images, targets = self._batch(data, index)
            if self.world_size > 1:
                # Every rank draws the whole global batch, so all ranks' RNG stay in step (exact resume),
                # then trains on its own share; DDP averages the gradients.
                shard = slice(self.rank, None, self.world_size)
                images, targets, index = images[shard], targets[shard], index[shard]
            with self._autocast():
                logits = self.forward(images)
            loss = self._loss(logits, targets)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.average:
                self.average.update(self.model)
            self.schedule.after_batch()
            total_loss += loss.item() * len(index)
            correct += int((logits[:, : len(self.classes)].argmax(1) == data.labels[index]).sum())
            seen += len(index)
            if progress:
                progress.update(1, f"loss {total_loss / seen:.4f} acc {correct / seen:.4f}")
        if progress:
            progress.close()
        total_loss, correct, seen = _sum_over_ranks([total_loss, correct, seen], self.world_size)
        return total_loss / seen, correct / seen

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.config.data.label_mode == "multitarget":
            return multi_target_loss(logits, targets)
        smoothing, classes = self.config.train.label_smoothing, len(self.classes)
        if self.head_mix is None:
            return soft_cross_entropy(logits, targets, self.class_weights, smoothing)
        # One loss per head (labels' first, then the teacher's), weighted as the heads are mixed in the answer.
        return sum(
            weight
            * soft_cross_entropy(
                logits[:, start : start + classes], targets[:, start : start + classes], self.class_weights, smoothing
            )
            for weight, start in zip(self.head_mix, range(0, logits.shape[1], classes))
        )

    def _batch(self, data: SplitTensors, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        targets = self._targets(data, index)
        if self.epoch_views is None:
            return self._augment(data.images[index], targets)
        return self._finish_batch(self.epoch_views.pixels[index], targets)

    def _targets(self, data: SplitTensors, index: torch.Tensor) -> torch.Tensor:
        targets = data.targets[index]
        if self.epoch_views is not None and self.teacher is not None and data.taught is not None:
            share = self.config.data.teacher_views_share
            targets = self.teacher.with_view(targets, data.taught[index], self.epoch_views.answers[index], share)
        if self.config.data.label_mode != "probability":
            return targets
        # A label drawn from the votes; a teacher's own columns (if any) stay its probabilities.
        classes = len(self.classes)
        drawn = sample_targets(targets[:, :classes], self.generator)
        return torch.cat([drawn, targets[:, classes:]], dim=1)

    def _augment(self, images_uint8: torch.Tensor, targets: torch.Tensor):
        aug = self.config.augment
        images = augment_pixels(images_uint8, aug, self.spec.input_size, self.generator)
        return self._finish_batch(images, targets)

    def _finish_batch(self, pixels: torch.Tensor, targets: torch.Tensor):
        """Augmented views (grey levels / 255) -> the model's normalisation, then mixup or CutMix if on."""
        preprocessing = self.card.preprocessing
        images = (pixels - preprocessing.mean) / preprocessing.std
        images, targets = mix_batch(
            images, targets, self.generator, self.config.augment.mixup, self.config.augment.cutmix
        )
        if self.config.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, targets

    def _autocast(self):
        if self.bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def validate(self) -> Validation:
        """Validation loss, accuracy (on each label set), and for age models the MAE of the expected age."""
        probabilities = predict_probabilities(
            self.answering_model,
            self.val_data.images,
            self.card.preprocessing,
            views=self.val_views,
            bf16=self.bf16,
            channels_last=self.config.train.channels_last,
        )
        labels = self.val_data.labels
        loss = float(torch.nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-8)), labels))
        accuracy = float((probabilities.argmax(1) == labels).float().mean())
        mae = None
        if self.is_age:
            expected = probabilities @ torch.arange(probabilities.shape[1], dtype=torch.float32)
            mae = float((expected - labels.float()).abs().mean())
        answers, classes = probabilities.numpy(), tuple(self.classes)
        others = tuple(other.accuracy(answers, classes) for other in self.other_labels)
        return Validation(loss, accuracy, mae, others)

    # --- the loop -----------------------------------------------------------------------------------

    def fit(self, stop_after: int | None = None) -> RunResult:
        """Train to the configured epoch count, or only `stop_after` more epochs (resume later)."""
        metrics_path = self.run_dir / "metrics.csv"
        if self.rank == 0:
            _truncate_metrics(metrics_path, self.epoch)
        last_epoch = (
            self.config.train.epochs if stop_after is None else min(self.epoch + stop_after, self.config.train.epochs)
        )
        while self.epoch < last_epoch:
            started = time.perf_counter()
            train_loss, train_acc = self.train_epoch()
            validation = self.validate()
            score = validation.score
            lr = current_lr(self.optimizer)
            self.schedule.after_epoch(score)
            self.epoch += 1
            seconds = time.perf_counter() - started
            record = EpochRecord(
                self.epoch,
                train_loss,
                train_acc,
                validation.loss,
                validation.accuracy,
                validation.mae,
                lr,
                seconds,
                validation.other_accuracy,
                score,
            )
            improved = score > self.best_score
            if improved or not self.select_best:
                self.best_score, self.best_epoch = score, self.epoch
            if self.rank == 0:
                self._record_epoch(metrics_path, record, improved)
            _barrier(self.world_size)
        return RunResult(self.run_dir, self.best_epoch, self.best_score, self.epoch, self.is_age)

    def _record_epoch(self, metrics_path: Path, record: EpochRecord, improved: bool) -> None:
        _append_metrics(metrics_path, record)
        state = self.state()
        ckpt.save_checkpoint(state, self.run_dir / "last.pt")
        if improved or not self.select_best:
            ckpt.save_checkpoint(state, self.run_dir / "best.pt")
        remaining = (self.config.train.epochs - self.epoch) * record.seconds
        figures = f" MAE {record.val_mae:.2f}" if record.val_mae is not None else ""
        if record.val_acc_other is not None:
            names = "+".join(other.name for other in self.other_labels)
            figures += f" | {names} acc {record.val_acc_other:.4f} score {record.score:.4f}"
        print(
            f"epoch {self.epoch}/{self.config.train.epochs} train loss {record.train_loss:.4f} acc "
            f"{record.train_acc:.4f} | val loss {record.val_loss:.4f} acc {record.val_acc:.4f}{figures}"
            f"{' *' if improved else ''} | lr {record.lr:.2e} | {record.seconds:.0f}s "
            f"| ETA {remaining / 3600:.1f} h",
            flush=True,
        )
        _plot_curves_quietly(
            metrics_path, self.run_dir / "curves.png", f"{self.config.model.name} ({self.run_dir.name})"
        )


def train(
    config: Config,
    *,
    resume: str | Path | None = None,
    finetune: str | Path | None = None,
    progress: bool = True,
    final_report: bool = True,
    stop_after: int | None = None,
) -> RunResult:
    """Train a model; `resume` continues a run folder where it stopped, `finetune` starts from a checkpoint.

    `stop_after` ends this call after that many epochs, leaving a run to resume (sessions have time limits).
    """
    if config.model.name in CLASSIC_MODELS:
        if resume or finetune:
            raise ConfigError(f"{config.model.name} trains in one go: no --resume or --finetune")
        if not config.data.store:
            raise ConfigError("data.store is not set (--set data.store=PATH)")
        run_dir = _new_run_dir(config)
        config.save(run_dir / "config.yaml")
        return train_classic(config, run_dir, final_report)
    # A wrong starting checkpoint or option is refused before anything is written.
    _validation_views(config)
    config.augment.check_ranges()
    start = finetune or config.model.init
    source = _source_checkpoint(config, start) if start and not resume else None
    if resume:
        run_dir = Path(resume)
        state = ckpt.load_checkpoint(run_dir / "last.pt")
        config = Config.load(run_dir / "config.yaml")
    else:
        if not config.data.store:
            raise ConfigError("data.store is not set (--set data.store=PATH)")
        run_dir = _new_run_dir(config)
        state = None
    if finetune:
        config = finetuned(config)
    select_best = not finetune  # fine-tuning trains on the validation split: its last epoch is kept
    if not resume and _is_rank_zero():
        config.save(run_dir / "config.yaml")
    trainer = Trainer(config, run_dir, select_best=select_best, progress=progress)
    for other in trainer.other_labels:
        print(
            f"validation also reads {other.name}'s labels: {len(other.rows)} of {len(trainer.val_data)} "
            f"{config.data.val_split} faces found there",
            flush=True,
        )
    if state is not None:
        trainer.load_state(state)
        print(f"resuming {run_dir} after epoch {trainer.epoch}", flush=True)
        if trainer.select_best and not (run_dir / "best.pt").exists():
            # A run's committed state is last.pt alone (no best.pt copies in the repository): the best epoch is
            # then chosen among the epochs from here on, and metrics.csv keeps the earlier ones' scores.
            print(f"no best.pt beside last.pt: the best epoch is chosen from epoch {trainer.epoch + 1} on", flush=True)
            trainer.best_score, trainer.best_epoch = -float("inf"), trainer.epoch
    elif source is not None:
        _start_from(trainer, source)
    result = trainer.fit(stop_after)
    if final_report and result.epochs_done == config.train.epochs and trainer.rank == 0:
        from ferkit.training.report import report_run

        report_run(run_dir, config.data.store)
    return result


def _teacher(config: Config, store) -> Teacher | None:
    """The distillation targets named by data.teacher (made by `ferkit teacher` on this store), if any."""
    if not config.data.teacher:
        return None
    from ferkit.evaluation.teacher import read_teacher_targets

    return Teacher(
        read_teacher_targets(config.data.teacher, store),
        config.data.teacher_weight,
        config.data.teacher_temperature,
        config.data.teacher_head,
    )


@dataclass(frozen=True)
class EpochViews:
    """One cached pass, for the training faces in their order: the views, and the teacher's answers on them."""

    pixels: torch.Tensor  # (N, 1, input, input) grey levels / 255, before the model's normalisation
    answers: torch.Tensor  # (N, classes) the teacher's probabilities on each view


@dataclass(frozen=True)
class CachedViews:
    """data.teacher_views, lined up with the training faces."""

    views: TeacherViews
    faces: torch.Tensor  # (rows, 1, S, S) uint8: the store's faces the views are drawn from
    position: torch.Tensor  # (N,) each training face's row among them

    @property
    def passes(self) -> int:
        return self.views.passes

    def draw(self, index: int) -> EpochViews:
        pixels = self.views.draw(self.faces, index)[self.position]
        answers = torch.from_numpy(self.views.probabilities[index].astype(np.float32))[self.position]
        return EpochViews(pixels, answers)


def _cached_views(config: Config, store, train_data: SplitTensors) -> CachedViews | None:
    """The teacher's answers on cached augmented views (data.teacher_views), if any, checked against the run."""
    if not config.data.teacher_views:
        return None
    if train_data.rows is None:
        raise ConfigError("data.teacher_views replaces part of a teacher's targets: name the teacher (data.teacher)")
    if not 0 < config.data.teacher_views_share <= 1:
        raise ConfigError("data.teacher_views_share must be in (0, 1]")
    views = read_teacher_views(config.data.teacher_views, store)
    views.check_fits(config)
    at = np.full(len(store.labels), -1)
    at[views.rows] = np.arange(len(views.rows))
    position = at[train_data.rows]
    if (position < 0).any():
        raise ConfigError(f"{config.data.teacher_views}: no views of {(position < 0).sum()} training faces")
    faces = torch.from_numpy(resize_faces(store.images[views.rows], views.image_size)).unsqueeze(1)
    return CachedViews(views, faces, torch.from_numpy(position))


def _weight_average(model: torch.nn.Module, decay: float) -> WeightAverage | None:
    if not 0 <= decay < 1:
        raise ConfigError(f"train.ema_decay must be in [0, 1), not {decay}")
    return WeightAverage(model, decay) if decay else None


def _validation_views(config: Config) -> Views:
    try:
        return Views.parse(config.train.val_views)
    except FerkitError as error:
        raise ConfigError(f"train.val_views: {error}") from None


def _source_checkpoint(config: Config, path: str | Path) -> ckpt.Checkpoint:
    source = ckpt.load_checkpoint(path)
    arch = source.card.arch
    if arch != config.model.name:
        raise ConfigError(f"{path} holds a {arch}, but model.name is {config.model.name}")
    return source


def _start_from(trainer: Trainer, source: ckpt.Checkpoint) -> None:
    """Load a checkpoint's weights into a new run. Tensors whose shape differs (a head over other classes)
    keep their fresh initialisation."""
    own = trainer.model.state_dict()
    matching = {key: value for key, value in source.model.items() if key in own and own[key].shape == value.shape}
    matching |= _heads_from_one(own, source.model)
    trainer.model.load_state_dict(matching, strict=False)
    if trainer.average:
        trainer.average.restart_from(trainer.model)
    fresh = sorted(set(own) - set(matching))
    if fresh:
        print(f"{len(matching)} tensors from the starting checkpoint; fresh: {', '.join(fresh)}", flush=True)
    # The weights were learnt on the source's pixel statistics: keep them, not those of the new data.
    pixels = source.card.preprocessing
    preprocessing = replace(trainer.card.preprocessing, mean=pixels.mean, std=pixels.std)
    trainer.card = replace(trainer.card, preprocessing=preprocessing)


def _heads_from_one(own: dict, source: dict) -> dict:
    """A one-head checkpoint starts every head of a MixedHeads model: its head's rows, repeated."""
    tiled = {}
    for key, value in source.items():
        target = own.get(key)
        if target is None or target.shape == value.shape or target.dim() != value.dim() or value.dim() == 0:
            continue
        copies, remainder = divmod(target.shape[0], value.shape[0])
        if remainder == 0 and copies > 1 and target.shape[1:] == value.shape[1:]:
            tiled[key] = value.repeat(copies, *([1] * (value.dim() - 1)))
    return tiled


def _use_bf16(precision: str) -> bool:
    """bf16 autocast pays off only with native bf16 units (AVX512-BF16, AMX); elsewhere torch emulates it,
    11x slower than fp32 (measured on an AVX2-only EPYC). The config keeps the request, so a run resumed on
    another machine uses bf16 again where it can."""
    if precision == "bf16" and not native_bf16():
        print("this CPU has no native bf16 (AVX512-BF16 or AMX): training in fp32", flush=True)
        return False
    return precision == "bf16"


def native_bf16() -> bool:
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def finetuned(config: Config) -> Config:
    """Khaireddin & Chen's last stage, as a new config: Training + PublicTest together, cosine annealing at a
    small LR. The validation split is then inside the training data, so no epoch is "best"."""
    splits = config.data.train_splits
    if config.data.val_split not in splits:
        splits = [*splits, config.data.val_split]
    return replace(
        config,
        data=replace(config.data, train_splits=splits),
        schedule=replace(config.schedule, name="cosine"),
    )


def _new_run_dir(config: Config) -> Path:
    name = config.train.name or f"{config.model.name}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = Path(config.train.out_dir) / name
    if (run_dir / "last.pt").exists() and _is_rank_zero():
        raise FerkitError(f"{run_dir}: a run is already there (resume it with --resume {run_dir})")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


# --- torchrun / DDP: ranks come from the environment torchrun sets; gloo runs on CPUs ----------------


def _is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _init_distributed() -> tuple[int, int]:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    return int(os.environ.get("RANK", "0")), world_size


def _sum_over_ranks(values: list[float], world_size: int) -> list[float]:
    if world_size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()


def _barrier(world_size: int) -> None:
    if world_size > 1:
        torch.distributed.barrier()


def _model_kwargs(config: Config) -> dict:
    kwargs: dict = {"dropout": config.model.dropout} if config.model.dropout is not None else {}
    if config.data.teacher and config.data.teacher_head:
        kwargs["head_mix"] = head_mix(config)
    return kwargs


def head_mix(config: Config) -> list[float]:
    """The labels' head and the teacher's, weighted alike in the loss and in the answer."""
    weight = config.data.teacher_weight
    return [1 - weight, weight]


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _append_metrics(path: Path, record: EpochRecord) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(METRIC_COLUMNS)
        writer.writerow(record.csv_row())


def _truncate_metrics(path: Path, epochs_kept: int) -> None:
    """On resume, drop rows an interrupted run wrote after its last checkpoint, and bring an older file's
    header up to the current columns."""
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["epoch"]) <= epochs_kept]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _plot_curves_quietly(metrics_path: Path, path: Path, title: str) -> None:
    try:
        from ferkit.evaluation.plots import plot_curves

        plot_curves(metrics_path, path, title)
    except ImportError:  # matplotlib is optional; the CSV has the numbers
        pass
