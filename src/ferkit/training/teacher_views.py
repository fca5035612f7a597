"""A teacher's answers on K augmented views of each training face, cached: consistent distillation.

A student taught the teacher's answer on the plain face while it trains on a shifted, rotated, blurred view of it
learns a target that belongs to another image; Beyer et al. (CVPR 2022, "Knowledge distillation: a good teacher
is patient and consistent") found students land 1.4-4.5 points under their teacher that way. An online teacher
costs several students on two cores, so `ferkit teacher --augmented-views K --recipe R` draws K passes of the
recipe's augmentation over the store's faces (each pass from a seed of its own, data.augment.view_pass), records
the teacher's answer on every view, and the trainer draws one cached pass per epoch, regenerating its views
exactly, so the student sees the very view its target was read on (`data.teacher_views`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ferkit.atomic import atomic_savez
from ferkit.card import Preprocessing
from ferkit.config import AugmentConfig, Config, from_dict
from ferkit.data import FerStore, load_store
from ferkit.data.augment import view_pass
from ferkit.errors import ConfigError, FerkitError
from ferkit.evaluation.teacher import check_teaches
from ferkit.faces import resize_faces
from ferkit.labels import remap_probabilities
from ferkit.models import get_spec
from ferkit.progress import Progress
from ferkit.views import Views

CHUNK = 1024  # views answered per call (the progress bar moves by it)
MIX_STEPS = ("mixup", "cutmix")  # drawn after the cached views, on the student's batch: not part of a view


class CropTeacher(Protocol):
    """A runtime model (an ONNX file or an ensemble) asked about crops already cut at its input size."""

    classes: tuple[str, ...]

    @property
    def preprocessing(self) -> Preprocessing: ...

    def predict_crops(self, crops: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TeacherViews:
    """The teacher's probabilities on `passes` augmented views of the store's faces at `rows`."""

    probabilities: np.ndarray  # (passes, rows, classes) in the store's classes
    rows: np.ndarray  # (rows,) the store rows the views are of
    augment: AugmentConfig  # the augmentation each pass draws (mixup and CutMix are the trainer's)
    image_size: int
    input_size: int
    seed: int

    @property
    def passes(self) -> int:
        return int(self.probabilities.shape[0])

    def draw(self, faces_uint8: torch.Tensor, index: int) -> torch.Tensor:
        """Pass `index` again: (rows, 1, input, input) views, grey levels / 255, of `faces_uint8` (the store's
        faces at `rows`, at image_size), the very views the teacher answered on."""
        return view_pass(faces_uint8, self.augment, self.input_size, self.seed, index)

    def check_fits(self, config: Config) -> None:
        """Refuse a run that would draw other views than the ones the teacher answered on."""
        spec = get_spec(config.model.name)
        sizes = (self.image_size, self.input_size)
        if sizes != (spec.image_size, spec.input_size):
            raise ConfigError(
                f"data.teacher_views: views of {sizes[0]} px faces cut to {sizes[1]}, "
                f"but {config.model.name} trains on {spec.image_size} cut to {spec.input_size}"
            )
        drawn, wanted = _view_steps(self.augment), _view_steps(config.augment)
        changed = [f"{key} {drawn[key]} (run: {wanted[key]})" for key in drawn if drawn[key] != wanted[key]]
        if changed:
            raise ConfigError(f"data.teacher_views: the views were drawn with other augmentation: {', '.join(changed)}")


def write_teacher_views(
    teacher: CropTeacher,
    store_path: str | Path,
    out: str | Path,
    *,
    recipe: Config,
    passes: int,
    seed: int = 0,
    splits: tuple[str, ...] = ("Training",),
    views: Views = Views.CENTRE,
    name: str = "",
    progress: bool = True,
) -> Path:
    """Draw `passes` views of every face of `splits` with the recipe's augmentation and record the teacher's
    answer on each (on `Views.MIRROR`, the mean over the view and its mirror image)."""
    if passes < 1:
        raise FerkitError(f"--augmented-views {passes}: at least one pass")
    if views is Views.TEN:
        raise FerkitError("--views ten: a view is already a crop; use centre or mirror")
    store = load_store(store_path)
    _check_teacher(teacher, store, store_path)
    spec = get_spec(recipe.model.name)
    rows = np.flatnonzero(store.split_mask(*splits))
    faces = torch.from_numpy(resize_faces(store.images[rows], spec.image_size)).unsqueeze(1)
    bar = Progress(passes * len(rows), f"teacher on {passes} views", "faces") if progress else None
    answers = []
    for index in range(passes):
        crops = view_pass(faces, recipe.augment, spec.input_size, seed, index)[:, 0].numpy() * 255
        answers.append(_answer(teacher, crops, views, store, bar))
    if bar:
        bar.close()
    result = TeacherViews(np.stack(answers), rows, recipe.augment, spec.image_size, spec.input_size, seed)
    return save_teacher_views(out, result, store, name or "teacher", views)


def _check_teacher(teacher: CropTeacher, store: FerStore, store_path: str | Path) -> None:
    check_teaches(teacher.classes, store, store_path)
    if teacher.preprocessing.equalize != bool(store.equalized):
        # Student and teacher see a view cut from the store's pixels: the teacher cannot equalise them its own way.
        said = {True: "equalised", False: "raw"}
        raise FerkitError(
            f"{store_path}: its faces are {said[bool(store.equalized)]}, the teacher reads "
            f"{said[teacher.preprocessing.equalize]} ones: prepare the store as the teacher was trained"
        )


def _answer(teacher: CropTeacher, crops: np.ndarray, views: Views, store: FerStore, bar: Progress | None) -> np.ndarray:
    rows = []
    for start in range(0, len(crops), CHUNK):
        chunk = np.ascontiguousarray(crops[start : start + CHUNK])
        answer = teacher.predict_crops(chunk)
        if views is Views.MIRROR:
            answer = (answer + teacher.predict_crops(np.ascontiguousarray(chunk[:, :, ::-1]))) / 2
        rows.append(remap_probabilities(answer.astype(np.float32), tuple(teacher.classes), tuple(store.classes)))
        if bar:
            bar.update(len(chunk))
    return np.concatenate(rows).astype(np.float16)


def save_teacher_views(out: str | Path, views: TeacherViews, store: FerStore, name: str, teacher_views: Views) -> Path:
    arrays = {
        "view_probabilities": views.probabilities,
        "rows": views.rows.astype(np.int64),
        "augment": np.array(json.dumps(dataclasses.asdict(views.augment))),
        "sizes": np.array([views.image_size, views.input_size, views.seed], np.int64),
        "classes": np.array(store.classes),
        "store_hash": np.array(store.data_hash()),
        "teacher": np.array(name),
        "views": np.array(teacher_views.value),
    }
    return atomic_savez(out, arrays)


def read_teacher_views(path: str | Path, store: FerStore) -> TeacherViews:
    """The cached views of `path`, refused unless made on this very store."""
    try:
        with np.load(path) as arrays:
            probabilities, rows = arrays["view_probabilities"], arrays["rows"]
            augment, sizes = json.loads(str(arrays["augment"])), arrays["sizes"].tolist()
            classes, store_hash = tuple(arrays["classes"].tolist()), str(arrays["store_hash"])
    except (OSError, KeyError, ValueError) as error:
        raise FerkitError(f"{path}: not a file made by `ferkit teacher --augmented-views` ({error})") from None
    if store_hash != store.data_hash():
        raise FerkitError(f"{path}: made on another store (hash {store_hash}, this store's is {store.data_hash()})")
    if classes != tuple(store.classes):
        raise FerkitError(f"{path}: the teacher's classes {list(classes)} are not the store's {list(store.classes)}")
    image_size, input_size, seed = sizes
    return TeacherViews(probabilities, rows, from_dict(AugmentConfig, augment, str(path)), image_size, input_size, seed)


def _view_steps(augment: AugmentConfig) -> dict[str, object]:
    return {key: value for key, value in dataclasses.asdict(augment).items() if key not in MIX_STEPS}
