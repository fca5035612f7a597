"""The models shipped inside the package, by name: `--model ferplus`, or a path to any ferkit ONNX file or
ensemble manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ferkit.errors import FerkitError

if TYPE_CHECKING:
    from ferkit.runtime.ensemble import EnsembleRecognizer
    from ferkit.runtime.recognizer import EmotionRecognizer

    EmotionModel = EmotionRecognizer | EnsembleRecognizer

WEIGHTS = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model's names, in one place: what users type, the file in the package, and where it came from
    (the recipe that trained it, the run folder that recipe makes, the architecture in `ferkit models`)."""

    name: str  # --model NAME (the age model is not chosen by name)
    file: Path  # an ONNX file, or an ensemble's manifest naming its members
    store: str  # the data its recorded figures are measured on: fer2013, ferplus or utkface
    recipe: str | None = None  # recipes/NAME.yaml; None for an ensemble, which is averaged, not trained
    run: str | None = None  # runs/NAME, the recipe's train.name
    arch: str | None = None  # the recipe's model.name, and the card's arch
    about: str = ""


SHIPPED_MODELS = (
    ShippedModel(
        "fer2013-resnet",
        WEIGHTS / "emotion" / "fer2013_resnet18_half_e150.onnx",
        "fer2013",
        "fer2013_resnet18_half_e150",
        "release-resnet18_v2_half-e150",
        "resnet18_v2_half",
        "The default: a half-width ResNet18 trained 150 epochs on Training, selected on PublicTest; 7 classes, fp16 "
        "weights, fp32 compute. More accurate than the VGG and fewer multiply-adds, so faster on AVX2-only CPUs.",
    ),
    ShippedModel(
        "fer2013-fast",
        WEIGHTS / "emotion" / "fer2013_resnet18_quarter.onnx",
        "fer2013",
        "fer2013_resnet18_quarter_distill",
        "release-resnet18_v2_quarter-distill",
        "resnet18_v2_quarter",
        "For CPUs without VNNI or AMX: a quarter-width ResNet18 distilled from fer2013-ensemble, a quarter of the "
        "default's multiply-adds for about two points of accuracy (MODEL_CARD.md); fp16 weights, fp32 compute.",
    ),
    ShippedModel(
        "fer2013",
        WEIGHTS / "emotion" / "fer2013_vgg_fer.onnx",
        "fer2013",
        "fer2013_vgg_fer",
        "release-vgg_fer",
        "vgg_fer",
        "The VGG (Khaireddin & Chen's stages); fp16 weights.",
    ),
    ShippedModel(
        "fer2013-int8",
        WEIGHTS / "emotion" / "fer2013_vgg_fer_int8.onnx",
        "fer2013",
        "fer2013_vgg_fer",
        "release-vgg_fer",
        "vgg_fer",
        "The VGG quantised: 3x the crops/s on VNNI/AMX CPUs for 0.06 points of PrivateTest accuracy.",
    ),
    ShippedModel(
        "ferplus",
        WEIGHTS / "emotion" / "ferplus_vgg_fer.onnx",
        "ferplus",
        "ferplus_vgg_fer",
        "release-ferplus-vgg_fer",
        "vgg_fer",
        "FER+'s 8 classes (contempt too); fp16 weights.",
    ),
    ShippedModel(
        "fer2013-ensemble",
        WEIGHTS / "emotion" / "fer2013_ensemble.json",
        "fer2013",
        about="fer2013-int8 averaged with two half-width ResNet18s (one of them fer2013-resnet): the most accurate "
        "FER2013 option, at a third of the default's crops/s.",
    ),
    ShippedModel(
        "ferplus-ensemble",
        WEIGHTS / "emotion" / "ferplus_ensemble.json",
        "ferplus",
        about="ferplus averaged with two FER2013 ResNets re-trained on FER+ votes: 1.3 points more PrivateTest "
        "accuracy.",
    ),
    ShippedModel(
        "both",
        WEIGHTS / "emotion" / "both_resnet18_quarter.onnx",
        "ferplus",
        "student_quarter_two_heads_second_cycle",
        "release-student-quarter-two-heads-second-cycle",
        "resnet18_v2_quarter",
        "Taught by both label sets (issue 41): a quarter-width ResNet18 with two heads, one on FER+'s votes, one on "
        "FER2013's labels and fer2013-ensemble's answers, mixed half and half; FER+'s 8 classes; the mirror folded "
        "in (centre crop alone): 137 MFLOPs a face as analyzed (ferplus 2,628).",
    ),
    ShippedModel(
        "age",
        WEIGHTS / "age" / "utkface_age_vgg_half.onnx",
        "utkface",
        "utkface_age_vgg_half",
        "release-age_vgg_half",
        "age_vgg_half",
        "Age from the same face crop: a distribution over years 0-100 (UTKFace); 80 MFLOPs a face.",
    ),
)
SHIPPED = {model.name: model for model in SHIPPED_MODELS}
EMOTION_MODELS = {model.name: model.file for model in SHIPPED_MODELS if model.name != "age"}
MODEL_SUFFIXES = (".onnx", ".json")
DEFAULT_EMOTION = "both"
AGE_MODEL = SHIPPED["age"].file


def emotion_model_path(model: str | Path | None = None) -> Path:
    """A shipped model's name (None = the default) or a file path -> the ONNX file."""
    name = DEFAULT_EMOTION if model is None else str(model)
    if name in EMOTION_MODELS:
        path = EMOTION_MODELS[name]
        if not path.is_file():
            raise FerkitError(
                f"the shipped model {name!r} is missing from this install ({path}); pass --model FILE.onnx"
            )
        return path
    path = Path(name)
    if path.suffix not in MODEL_SUFFIXES and not path.exists():
        raise FerkitError(
            f"unknown model {name!r}: give an .onnx file, an ensemble .json "
            f"or one of {', '.join(shipped_emotion_models())}"
        )
    return path


def load_emotion_model(model: str | Path | None = None, threads: int = 0) -> EmotionModel:
    """A shipped name, an ONNX file or an ensemble manifest -> a recognizer (EmotionRecognizer interface)."""
    from ferkit.runtime.ensemble import EnsembleRecognizer
    from ferkit.runtime.recognizer import EmotionRecognizer

    path = emotion_model_path(model)
    if path.suffix == ".json":
        return EnsembleRecognizer.load(path, threads=threads)
    return EmotionRecognizer(path, threads=threads)


def shipped_emotion_models() -> list[str]:
    return [name for name, path in EMOTION_MODELS.items() if path.is_file()]
