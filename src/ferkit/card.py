"""The model contract: what every checkpoint, ONNX file and ensemble manifest says about itself, so loading one
needs nothing else. One home, typed; JSON only at the edges (ONNX metadata, checkpoint payloads, manifests).

    card = ModelCard.from_json(text, "model.onnx")
    card.classes, card.preprocessing.input_size, card.metric("PrivateTest").accuracy, card.temperature
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np

from ferkit.calibration import prior_bias
from ferkit.errors import FerkitError
from ferkit.views import Views

CARD_FORMAT = 1  # raised when a file's card changes in a way older readers would misread
MODEL_KWARGS = "model_kwargs"  # the card's extra key for the architecture's arguments (read through ModelCard)
METADATA_KEY = "ferkit"  # the ONNX metadata entry that holds the card


def metric_key(split: str, views: Views = Views.CENTRE) -> str:
    """Where a split's figures on these views are recorded: "PrivateTest" (the centre crop), "PrivateTest-mirror",
    "PrivateTest-tencrop"."""
    return f"{split}{views.metric_suffix}"


@dataclass(frozen=True)
class SplitMetrics:
    """What a file records about itself on one split and views (one metric_key): an emotion model's accuracy,
    macro-F1, per-class figures and calibration error, or the age model's mean absolute error; the store's hash
    says which ingest the figures were measured on. Older files without a key still load (None)."""

    count: int = 0
    accuracy: float | None = None
    macro_f1: float | None = None
    balanced_accuracy: float | None = None  # recorded since 2026-12-06; `balanced` derives it for older files
    ece: float | None = None
    mae: float | None = None
    classes: tuple[str, ...] = ()
    recall: dict[str, float] = field(default_factory=dict)
    precision: dict[str, float] = field(default_factory=dict)
    f1: dict[str, float] = field(default_factory=dict)
    store_hash: str | None = None
    other: dict[str, Any] = field(default_factory=dict)  # the rest as recorded (the age report's breakdowns)

    @property
    def balanced(self) -> float | None:
        """Balanced accuracy (the mean per-class recall), recorded or derived from the recalls."""
        if self.balanced_accuracy is not None:
            return self.balanced_accuracy
        return sum(self.recall.values()) / len(self.recall) if self.recall else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitMetrics:
        named = {f.name for f in fields(cls)} - {"other"}
        known = {key: value for key, value in data.items() if key in named}
        if "classes" in known:
            known["classes"] = tuple(known["classes"])
        return cls(**known, other={key: value for key, value in data.items() if key not in named})

    def to_dict(self) -> dict[str, Any]:
        recorded = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "other"}
        recorded = {key: value for key, value in recorded.items() if value not in (None, (), {})}
        if self.classes:
            recorded["classes"] = list(self.classes)
        return {**recorded, **self.other}


def metrics_from_dict(data: dict[str, Any]) -> dict[str, SplitMetrics]:
    """A file's or manifest's metrics record, by metric_key."""
    return {
        key: record if isinstance(record, SplitMetrics) else SplitMetrics.from_dict(record)
        for key, record in data.items()
    }


def metrics_to_dict(metrics: dict[str, SplitMetrics]) -> dict[str, dict[str, Any]]:
    return {key: record.to_dict() for key, record in metrics.items()}


@dataclass(frozen=True)
class Preprocessing:
    """How pixels reach the network: faces resized to image_size (histogram-equalised or not), then the centre
    (or ten) input_size crops; mean and std normalise 0..1 pixels (inside the graph for ONNX files)."""

    image_size: int
    input_size: int
    equalize: bool
    mean: float | None = None  # None for an ensemble: each member normalises on its own
    std: float | None = None
    grayscale: bool = True
    normalisation: str = ""  # where normalisation happens, for people reading an ONNX file's metadata

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model") -> Preprocessing:
        try:
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except TypeError as error:
            raise FerkitError(f"{source}: incomplete preprocessing in its model card ({error})") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SplitCalibration:
    """Expected calibration error and negative log-likelihood on one split, before and after the temperature."""

    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float


@dataclass(frozen=True)
class Calibration:
    """The temperature `ferkit calibrate` fitted, where, on which views, and what it did on each test split.
    Unfitted (a file never calibrated): temperature 1, nothing recorded."""

    temperature: float = 1.0
    fitted_on: str = ""  # the split the temperature was fitted on ("PublicTest")
    path: str = ""  # "runtime": faces fed as the analyzer feeds a detector's crop
    views: Views = Views.MIRROR
    bins: int = 15
    store_hash: str = ""
    splits: dict[str, SplitCalibration] = field(default_factory=dict)  # "PublicTest", "PrivateTest"
    # The labels the probabilities were calibrated to ("fer2013", "ferplus"); files before it: the model's own.
    label_set: str | None = None
    # FER's class prior, partly taken out of the answers (calibration.prior_bias): the model's mean answer on
    # the fitting split, in its classes, and the power it is divided out at (0: the answers as trained).
    prior: tuple[float, ...] = ()
    prior_power: float = 0.0

    @property
    def fitted(self) -> bool:
        return bool(self.fitted_on)

    @property
    def log_bias(self) -> np.ndarray | None:
        """Added to each answer's log-probabilities before the temperature (None: nothing to add)."""
        return prior_bias(self.prior, self.prior_power) if self.prior else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Also reads files calibrated before views were named (`"mirror": true` for the mirror average)."""
        if not data:
            return cls()
        views = data.get("views") or (Views.MIRROR if data.get("mirror", True) else Views.CENTRE)
        return cls(
            temperature=float(data.get("temperature", 1.0)),
            fitted_on=data.get("fitted_on", ""),
            path=data.get("path", ""),
            views=Views.parse(views),
            bins=int(data.get("bins", 15)),
            store_hash=data.get("store_hash", ""),
            label_set=data.get("label_set"),
            prior=tuple(float(share) for share in data.get("prior", ())),
            prior_power=float(data.get("prior_power", 0.0)),
            splits={
                key: SplitCalibration(**{f.name: float(value[f.name]) for f in fields(SplitCalibration)})
                for key, value in data.items()
                if isinstance(value, dict)
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON the files hold: the splits' records beside the fit's fields, as older readers expect."""
        if not self.fitted:
            return {}
        recorded = ("temperature", "fitted_on", "path", "bins", "store_hash", "label_set")
        fit = {name: getattr(self, name) for name in recorded if getattr(self, name) is not None}
        splits = {name: asdict(record) for name, record in self.splits.items()}
        prior = {"prior": list(self.prior), "prior_power": self.prior_power} if self.prior_power else {}
        return {**fit, "views": self.views.value, **prior, **splits}


@dataclass
class ModelCard:
    arch: str
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    label_set: str | None = None
    data_hash: str = ""
    weights: str = "fp32"
    metrics: dict[str, SplitMetrics] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)
    format: int = CARD_FORMAT
    # The views the model is run on unless a user asks otherwise: the mirror average (what `ferkit analyze` did for
    # every model before this key), or the centre crop alone for students taught on mirror-averaged targets.
    views: Views = Views.MIRROR
    extra: dict[str, Any] = field(default_factory=dict)  # model_kwargs, members, ferkit_version, ...

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """The architecture's arguments beyond its class count (dropout, the two heads' mix, ...)."""
        return dict(self.extra.get(MODEL_KWARGS, {}))

    def with_model_kwargs(self, **changes: Any) -> ModelCard:
        return replace(self, extra={**self.extra, MODEL_KWARGS: {**self.model_kwargs, **changes}})

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model") -> ModelCard:
        if not isinstance(data, dict):
            raise FerkitError(f"{source}: its model card is not a mapping")
        version = data.get("format", CARD_FORMAT)
        if not isinstance(version, int) or version > CARD_FORMAT:
            raise FerkitError(
                f"{source}: model card format {version!r} is newer than this ferkit reads "
                f"({CARD_FORMAT}); upgrade ferkit"
            )
        missing = [key for key in ("arch", "classes", "preprocessing") if key not in data]
        if missing:
            raise FerkitError(f"{source}: its model card lacks {', '.join(missing)}")
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            arch=data["arch"],
            classes=tuple(data["classes"]),
            preprocessing=Preprocessing.from_dict(data["preprocessing"], source),
            label_set=data.get("label_set"),
            data_hash=data.get("data_hash", ""),
            weights=data.get("weights", "fp32"),
            metrics=metrics_from_dict(data.get("metrics") or {}),
            calibration=Calibration.from_dict(data.get("calibration") or {}),
            format=version,
            views=Views.parse(data.get("views", Views.MIRROR)),
            extra={key: value for key, value in data.items() if key not in known},
        )

    @classmethod
    def from_json(cls, text: str, source: str = "model") -> ModelCard:
        try:
            return cls.from_dict(json.loads(text), source)
        except json.JSONDecodeError as error:
            raise FerkitError(f"{source}: its model card is not JSON ({error})") from None

    def to_dict(self) -> dict[str, Any]:
        known = {
            "format": self.format,
            "arch": self.arch,
            "classes": list(self.classes),
            "label_set": self.label_set,
            "preprocessing": self.preprocessing.to_dict(),
            "data_hash": self.data_hash,
            "weights": self.weights,
            "metrics": metrics_to_dict(self.metrics),
            "calibration": self.calibration.to_dict(),
            "views": self.views.value,
        }
        return {**self.extra, **known}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def metric(self, split: str, views: Views = Views.CENTRE) -> SplitMetrics | None:
        """The recorded figures of a split on these views (None if never measured)."""
        return self.metrics.get(metric_key(split, views))

    @property
    def temperature(self) -> float:
        """Fitted by `ferkit calibrate`; 1 (none) in files made before it."""
        return self.calibration.temperature

    @property
    def version(self) -> str:
        """Names these exact weights: architecture, number format and training data."""
        return f"{self.arch}-{self.weights}-{self.data_hash}"


class CardHolder:
    """What every predictor reads from its card, written once: checkpoints, ONNX files and ensembles share it."""

    card: ModelCard

    @property
    def preprocessing(self) -> Preprocessing:
        return self.card.preprocessing

    @property
    def image_size(self) -> int:
        return self.card.preprocessing.image_size


class Predictor(Protocol):
    """What evaluation, calibration and distillation measure: a checkpoint, an ONNX file or an ensemble."""

    classes: tuple[str, ...]
    card: ModelCard

    @property
    def preprocessing(self) -> Preprocessing: ...

    @property
    def image_size(self) -> int: ...

    def predict_prepared(self, faces: np.ndarray, views: Views = Views.CENTRE) -> np.ndarray: ...
