"""One config dataclass, three ways in: a YAML file, `--set key=value` overrides, or a Python call.

cfg = Config.load("recipe.yaml", ["optim.lr=0.01", "train.epochs=5"])
cfg = Config(model=ModelConfig(name="mini_xception"))
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ferkit.errors import ConfigError


@dataclass
class DataConfig:
    store: str = ""
    train_splits: list[str] = field(default_factory=lambda: ["Training"])
    val_split: str = "PublicTest"
    # FER+ only: majority | probability | crossentropy | multitarget (Barsoum et al. 2016)
    label_mode: str = "majority"
    limit: int = 0  # use only the first N training images (quick experiments and tests)
    # Distillation: a `ferkit teacher` file of soft targets for this store; each face's target becomes
    # (1 - teacher_weight) x its label + teacher_weight x the teacher's probabilities softened by the temperature.
    teacher: str = ""
    teacher_weight: float = 0.5
    teacher_temperature: float = 1.0
    # True: the teacher teaches a head of its own instead of blending into each label target, and the network
    # answers with the two heads' probabilities mixed, teacher_weight to the teacher's (models.layers.MixedHeads).
    teacher_head: bool = False
    # Consistent distillation: a `ferkit teacher --augmented-views` file of the teacher's answers on cached
    # augmented views of each face; each epoch draws one pass of views, and its answers make this share of every
    # data.teacher target (training/teacher_views.py).
    teacher_views: str = ""
    teacher_views_share: float = 1.0
    # Stores holding val_split's faces under other labels (FER2013's own for FER+'s faces), paired by pixels: the
    # best epoch is then the one whose accuracy, averaged over this store's labels and each of theirs, is highest.
    also_validate_on: list[str] = field(default_factory=list)


@dataclass
class ModelConfig:
    name: str = "vgg_fer"
    dropout: float | None = None  # None keeps the model's own default
    # Start from this checkpoint's weights (transfer, e.g. FER2013 -> FER+); layers whose shape differs, such as
    # the head of a new label set, start fresh. Unlike --finetune, validation still selects the best epoch.
    init: str = ""


@dataclass
class AugmentConfig:
    flip: bool = True
    rotate: float = 10.0  # degrees, uniform in +-rotate
    zoom: float = 0.2  # scale uniform in 1 +- zoom
    shift: bool = True  # random crop position (False: centre crop plus the other transforms)
    erase: float = 0.5  # probability of random erasing per image
    mixup: float = 0.0  # Beta(alpha, alpha) mixing; 0 turns it off
    cutmix: float = 0.0
    # Web-photo degradations (bench/bench_robustness.py: blur and small faces cost most): share of images.
    blur: float = 0.0  # Gaussian blur, sigma uniform in 0.3..blur_max_sigma pixels
    blur_max_sigma: float = 1.5
    low_res: float = 0.0  # shrunk to a side of low_res_min_side..input size, then scaled back up
    low_res_min_side: int = 16
    jpeg: float = 0.0  # compressed as JPEG at a quality uniform in 10..60, then decoded (photos on the web are)
    # Share of faces histogram-equalised again, as the runtime does with every crop (stores equalised already).
    reequalize: float = 0.0

    def check_ranges(self) -> None:
        """The degradation ranges a run can train on: a blur narrower than its own floor or a face shrunk to
        nothing would fail deep inside the first batch."""
        if self.blur_max_sigma < 0.3:
            raise ConfigError(f"augment.blur_max_sigma: {self.blur_max_sigma} is under the blur's floor of 0.3 pixels")
        if self.low_res_min_side < 2:
            raise ConfigError(f"augment.low_res_min_side: {self.low_res_min_side} pixels is no face; use 2 or more")


@dataclass
class OptimConfig:
    name: str = "sgd_nesterov"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4


@dataclass
class ScheduleConfig:
    name: str = "plateau"
    factor: float = 0.75  # plateau: the paper's factor and patience
    patience: int = 5
    step_size: int = 30
    gamma: float = 0.1
    restart_epochs: int = 10  # cosine_restarts: length of the first cycle
    warmup_epochs: int = 0
    min_lr: float = 0.0


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    seed: int = 0
    label_smoothing: float = 0.0
    class_weights: bool = False  # inverse-frequency loss weights for the imbalance
    threads: int = 0  # 0: torch's default
    precision: str = "bf16"  # bf16 autocast on CPUs with AMX/AVX512-BF16; others train in fp32 (see trainer)
    channels_last: bool = True
    compile: bool = False
    val_views: str = "centre"  # the views validation reads each face on (views.Views: centre, mirror or ten)
    # Above 0: validate, select and export an exponential moving average of the weights over steps, each step
    # moving it 1 - ema_decay of the way (0.998 averages about the last 500 steps; training/averaging.py).
    ema_decay: float = 0.0
    out_dir: str = "runs"
    name: str = ""


@dataclass
class Config:
    """A whole run in one object, three ways in: `Config.load("recipe.yaml", ["optim.lr=0.01"])` (a YAML file and
    `--set key=value` overrides), or `Config(...)` in Python. `save` writes the resolved config beside the run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
        values: Any = {}
        if path:
            try:
                values = yaml.safe_load(Path(path).read_text()) or {}
            except (OSError, yaml.YAMLError) as error:
                raise ConfigError(f"{path}: cannot read config ({error})") from None
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: a config is a mapping of sections")
        config: Config = from_dict(cls, values, where=str(path or "config"))
        for item in overrides or []:
            config.set(item)
        return config

    def set(self, assignment: str) -> None:
        """Apply one `section.key=value` override; the value is parsed as YAML (numbers, lists, booleans)."""
        key, sep, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2:
            raise ConfigError(f"--set {assignment!r}: expected section.key=value, e.g. optim.lr=0.01")
        section = getattr(self, parts[0], None)
        if section is None or not dataclasses.is_dataclass(section):
            raise ConfigError(
                f"--set {assignment!r}: unknown section {parts[0]!r}; known: {', '.join(_field_names(self))}"
            )
        value = yaml.safe_load(text) if text.strip() else ""
        setattr(section, parts[1], _coerce(type(section), parts[1], value, f"--set {key}"))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def from_dict(cls: type, values: dict[str, Any], where: str) -> Any:
    if cls is TrainConfig and "ten_crop" in values:
        # Run folders written before 2026-12-07 say `ten_crop: true|false`; their runs resume as they started.
        ten_crop = values["ten_crop"] is True
        values = {key: value for key, value in values.items() if key != "ten_crop"}
        values.setdefault("val_views", "ten" if ten_crop else "centre")
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _field_names(cls):
            raise ConfigError(f"{where}: unknown key {key!r}; known: {', '.join(_field_names(cls))}")
        field_type = typing.get_type_hints(cls)[key]
        if isinstance(field_type, type) and dataclasses.is_dataclass(field_type):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key} must be a mapping")
            kwargs[key] = from_dict(field_type, value, f"{where}: {key}")
        else:
            kwargs[key] = _coerce(cls, key, value, f"{where}: {key}")
    return cls(**kwargs)


def _field_names(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _coerce(cls: type, key: str, value: Any, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    if key not in hints:
        raise ConfigError(f"{where}: unknown key {key!r}; known: {', '.join(hints)}")
    expected = hints[key]
    options = (
        typing.get_args(expected) if typing.get_origin(expected) in (typing.Union, types.UnionType) else (expected,)
    )
    if value is None and type(None) in options:
        return None
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is list:
            return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        if origin is bool and isinstance(value, bool):
            return value
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin is str and value is not None:
            return str(value)
    raise ConfigError(f"{where}: {value!r} is not a valid {getattr(expected, '__name__', expected)}")
