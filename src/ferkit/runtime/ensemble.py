"""Several ferkit ONNX models over the same classes, their probabilities averaged.

An ensemble is a small JSON manifest beside its member files: their names and SHA-256 digests (the recorded
metrics hold only for those exact files) and the metrics measured when it was made. Each member keeps its own
preprocessing (input size, crops), so networks of different geometry can be combined.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ferkit import calibration
from ferkit.atomic import atomic_write
from ferkit.card import (
    Calibration,
    CardHolder,
    ModelCard,
    Preprocessing,
    SplitMetrics,
    metrics_from_dict,
    metrics_to_dict,
)
from ferkit.errors import FerkitError
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.views import Views

MANIFEST_KIND = "ferkit-ensemble"


@dataclass(frozen=True)
class Member:
    """A member file, named relative to the manifest, and the SHA-256 of the exact file the metrics hold for."""

    file: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """An ensemble file's contents, typed: read and written only through `read_manifest` / `_write_manifest`."""

    members: tuple[Member, ...]
    metrics: dict[str, SplitMetrics] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": MANIFEST_KIND,
            "members": [{"file": member.file, "sha256": member.sha256} for member in self.members],
            "metrics": metrics_to_dict(self.metrics),
            "calibration": self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Manifest:
        if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND or not _valid_members(data.get("members")):
            raise FerkitError(f"{where}: not an ensemble manifest (make one with `ferkit ensemble`)")
        members = tuple(Member(entry["file"], entry["sha256"]) for entry in data["members"])
        return cls(
            members, metrics_from_dict(data.get("metrics") or {}), Calibration.from_dict(data.get("calibration") or {})
        )


class EnsembleRecognizer(CardHolder):
    """The EmotionRecognizer interface over an ensemble manifest."""

    def __init__(
        self,
        members: list[EmotionRecognizer],
        metrics: dict[str, SplitMetrics] | None = None,
        path: Path | None = None,
        calibration: Calibration | None = None,
        calibrated: bool = True,
    ):
        self.members = members
        self.path = path
        self.classes: tuple[str, ...] = _common_classes(members)
        self.card = _ensemble_card(members, metrics or {}, calibration or Calibration())
        self.temperature = self.card.temperature if calibrated else 1.0
        self.log_bias = self.card.calibration.log_bias if calibrated else None

    @classmethod
    def load(cls, manifest_path: str | Path, threads: int = 0, calibrated: bool = True) -> EnsembleRecognizer:
        path = Path(manifest_path)
        manifest = read_manifest(path)
        try:
            members = [_load_member(path.parent, member, threads) for member in manifest.members]
            return cls(members, manifest.metrics, path, manifest.calibration, calibrated)
        except FerkitError as error:
            raise FerkitError(f"{path}: {error}") from None

    @classmethod
    def from_files(cls, paths: list[str | Path], threads: int = 0) -> EnsembleRecognizer:
        return cls([EmotionRecognizer(path, threads=threads, calibrated=False) for path in paths])

    @property
    def files(self) -> list[Path]:
        manifest = [self.path] if self.path else []
        return manifest + [member.path for member in self.members]

    @property
    def kernel(self) -> str:
        return " + ".join(member.kernel for member in self.members)

    def predict_faces(self, crops: list[np.ndarray], views: Views = Views.CENTRE) -> np.ndarray:
        return self.combine([member.view_probabilities(member.prepare(crops), views) for member in self.members])

    def predict_prepared(self, faces: np.ndarray, views: Views = Views.CENTRE) -> np.ndarray:
        return self.combine([member.view_probabilities(faces, views) for member in self.members])

    def predict_crops(self, crops: np.ndarray) -> np.ndarray:
        """Crops already cut at the members' input size (recognizer.predict_crops), answered as one view."""
        return self.combine([member.crop_probabilities(crops)[None] for member in self.members])

    def view_probabilities(self, faces: np.ndarray, views: Views) -> np.ndarray:
        """(views, N, classes): the members' own probabilities for each view, averaged, before any temperature."""
        probabilities: np.ndarray = np.mean(
            [member.view_probabilities(faces, views) for member in self.members], axis=0
        )
        return probabilities

    def combine(self, member_views: list[np.ndarray]) -> np.ndarray:
        """The ensemble's answer from its members' own (uncalibrated) probabilities, each (views, N, classes):
        their mean for each view, then each view at the ensemble's temperature, averaged."""
        return calibration.scale_views(np.mean(member_views, axis=0), self.temperature, self.log_bias)


def check_manifest_place(members: list[str | Path], out: str | Path) -> Path:
    """Members are stored relative to the manifest, so the folder can move as a whole. Checked before the
    minutes of measuring an ensemble, not after."""
    out = Path(out).resolve()
    if out.suffix != ".json":
        raise FerkitError(f"{out}: an ensemble manifest is a .json file")
    for member in (Path(member).resolve() for member in members):
        if member.parent != out.parent:
            raise FerkitError(f"{member}: ensemble members must sit in the manifest's folder ({out.parent})")
    return out


def write_manifest(
    members: list[str | Path],
    out: str | Path,
    metrics: dict[str, SplitMetrics] | None = None,
    calibration: Calibration | None = None,
) -> Path:
    out = check_manifest_place(members, out)
    entries = tuple(Member(Path(member).name, file_sha256(Path(member))) for member in members)
    return _write_manifest(out, Manifest(entries, metrics or {}, calibration or Calibration()))


def repin_members(folder: Path, old_sha256: str, new_sha256: str) -> list[Path]:
    """After a member's metadata was rewritten (its weights untouched), the manifests in its folder that pinned
    the old file pin the new one. Members run uncalibrated inside an ensemble, so its metrics still hold."""
    repinned = []
    for path in sorted(folder.glob("*.json")):
        try:
            manifest = read_manifest(path)
        except FerkitError:
            continue  # not a manifest
        if any(member.sha256 == old_sha256 for member in manifest.members):
            members = tuple(
                Member(member.file, new_sha256) if member.sha256 == old_sha256 else member
                for member in manifest.members
            )
            _write_manifest(path, replace(manifest, members=members))
            repinned.append(path)
    return repinned


def write_calibration(path: Path, calibration: Calibration) -> None:
    _write_manifest(path, replace(read_manifest(path), calibration=calibration))


def _write_manifest(path: Path, manifest: Manifest) -> Path:
    def write(temporary: str) -> None:
        Path(temporary).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")

    return atomic_write(path, write)


def read_manifest(path: Path) -> Manifest:
    if not path.is_file():
        raise FerkitError(f"{path}: no such ensemble file")
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FerkitError(f"{path}: not an ensemble manifest ({error})") from None
    return Manifest.from_dict(manifest, str(path))


def _valid_members(entries: Any) -> bool:
    return (
        bool(entries)
        and isinstance(entries, list)
        and all(
            isinstance(entry, dict) and isinstance(entry.get("file"), str) and isinstance(entry.get("sha256"), str)
            for entry in entries
        )
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_member(folder: Path, member: Member, threads: int) -> EmotionRecognizer:
    path = folder / member.file
    if not path.is_file():
        raise FerkitError(f"member {member.file} is missing")
    if file_sha256(path) != member.sha256:
        raise FerkitError(f"member {member.file} is not the file this ensemble was measured with (its SHA-256 differs)")
    return EmotionRecognizer(path, threads=threads, calibrated=False)  # raw: the ensemble calibrates


def _common_classes(members: list[EmotionRecognizer]) -> tuple[str, ...]:
    if not members:
        raise FerkitError("an ensemble needs at least one member")
    if len({member.classes for member in members}) > 1:
        raise FerkitError(
            "ensemble members predict different classes: "
            + "; ".join(f"{m.path.name}: {', '.join(m.classes)}" for m in members)
        )
    if len({member.preprocessing.equalize for member in members}) > 1:
        raise FerkitError("ensemble members disagree on histogram equalisation")
    return members[0].classes


def _ensemble_card(
    members: list[EmotionRecognizer], metrics: dict[str, SplitMetrics], calibration: Calibration
) -> ModelCard:
    """What a single model's card says, so listings and the service can describe an ensemble too. Faces are
    prepared at the largest member size; each member resizes and normalises them its own way."""
    cards = [member.card for member in members]
    preprocessing = Preprocessing(
        image_size=max(c.preprocessing.image_size for c in cards),
        input_size=max(c.preprocessing.input_size for c in cards),
        equalize=cards[0].preprocessing.equalize,
    )
    return ModelCard(
        arch="+".join(c.arch for c in cards),
        classes=cards[0].classes,
        preprocessing=preprocessing,
        label_set=cards[0].label_set,
        data_hash="+".join(sorted({c.data_hash for c in cards})),
        weights="+".join(sorted({c.weights for c in cards})),
        metrics=metrics,
        calibration=calibration,
        extra={"members": [member.path.name for member in members]},
    )
