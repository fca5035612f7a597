"""The models shipped inside the package, by name: `--model ferplus`, or a path to any ferkit ONNX file or
ensemble manifest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ferkit.errors import FerkitError

if TYPE_CHECKING:
    from ferkit.runtime.ensemble import EnsembleRecognizer
    from ferkit.runtime.recognizer import EmotionRecognizer

    EmotionModel = EmotionRecognizer | EnsembleRecognizer

WEIGHTS = Path(__file__).parent / "weights"
EMOTION_MODELS = {
    # The default: a half-width ResNet18 trained 150 epochs on Training, selected on PublicTest; 7 classes,
    # fp16 weights, fp32 compute. More accurate than the VGG and fewer multiply-adds, so faster on AVX2-only CPUs.
    "fer2013-resnet": WEIGHTS / "emotion" / "fer2013_resnet18_half_e150.onnx",
    # For CPUs without VNNI or AMX: a quarter-width ResNet18 distilled from fer2013-ensemble, a quarter of the
    # default's multiply-adds for about two points of accuracy (MODEL_CARD.md); fp16 weights, fp32 compute.
    "fer2013-fast": WEIGHTS / "emotion" / "fer2013_resnet18_quarter.onnx",
    "fer2013": WEIGHTS / "emotion" / "fer2013_vgg_fer.onnx",  # the VGG (Khaireddin & Chen's stages); fp16 weights
    # The VGG quantised: 3x the crops/s on VNNI/AMX CPUs for 0.06 points of PrivateTest accuracy.
    "fer2013-int8": WEIGHTS / "emotion" / "fer2013_vgg_fer_int8.onnx",
    "ferplus": WEIGHTS / "emotion" / "ferplus_vgg_fer.onnx",  # FER+'s 8 classes (contempt too); fp16 weights
    # fer2013-int8 averaged with two half-width ResNet18s (one of them fer2013-resnet): the most accurate FER2013
    # option, at a third of the default's crops/s.
    "fer2013-ensemble": WEIGHTS / "emotion" / "fer2013_ensemble.json",
    # ferplus averaged with two FER2013 ResNets re-trained on FER+ votes: 1.3 points more PrivateTest accuracy.
    "ferplus-ensemble": WEIGHTS / "emotion" / "ferplus_ensemble.json",
    # Taught by both label sets (issue 41): a quarter-width ResNet18 with two heads, one on FER+'s votes, one on
    # fer2013-ensemble's answers, mixed half and half; FER+'s 8 classes; the mirror folded in (centre crop alone):
    # 137 MFLOPs a face as analyzed, a tenth of ferplus's. Between ferplus and the FER2013 models on both test sets.
    "both": WEIGHTS / "emotion" / "both_resnet18_quarter.onnx",
}
MODEL_SUFFIXES = (".onnx", ".json")
DEFAULT_EMOTION = "fer2013-resnet"
AGE_MODEL = WEIGHTS / "age" / "utkface_age_vgg.onnx"


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
