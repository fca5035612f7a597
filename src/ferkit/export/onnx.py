"""Checkpoint -> ONNX. Normalisation and softmax go inside the graph, so the runtime feeds 0..255 pixels
of the crop the metadata names and reads probabilities; the metadata says everything else."""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ferkit import __version__
from ferkit.atomic import atomic_write
from ferkit.card import METADATA_KEY, Calibration, ModelCard, SplitMetrics
from ferkit.training.checkpoint import load_checkpoint, model_from_checkpoint, with_teacher_share
from ferkit.views import Views

INPUT_NAME, OUTPUT_NAME = "pixels", "probabilities"


class WithPreprocessing(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, mean: float, std: float):
        super().__init__()
        self.model, self.mean, self.std = model, mean, std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model((pixels / 255.0 - self.mean) / self.std), dim=1)


def export_onnx(
    checkpoint_path: str | Path,
    out: str | Path,
    *,
    fp16_weights: bool = False,
    opset: int = 17,
    teacher_share: float | None = None,
    views: Views | None = None,
) -> Path:
    """A checkpoint as a self-describing ONNX file; a two-head checkpoint (data.teacher_head) answers with its
    heads mixed as trained, or with `teacher_share` of the answer from the teacher's head. `views` are those the
    model is run on unless users ask otherwise (the card's; default: the mirror average)."""
    import onnx

    checkpoint = load_checkpoint(checkpoint_path)
    if teacher_share is not None:
        checkpoint = with_teacher_share(checkpoint, teacher_share, str(checkpoint_path))
    model, card = model_from_checkpoint(checkpoint)
    preprocessing = card.preprocessing
    wrapped = WithPreprocessing(model, preprocessing.mean, preprocessing.std).eval()
    example = torch.zeros(1, 1, preprocessing.input_size, preprocessing.input_size)
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw.onnx"
        # The TorchScript exporter: the dynamo one needs onnxscript, and these plain CNNs gain nothing from it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                wrapped,
                (example,),
                str(raw),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
        proto = onnx.load(str(raw))
    if fp16_weights:
        store_weights_as_fp16(proto)
    onnx_card = replace(
        card,
        preprocessing=replace(preprocessing, normalisation="inside the graph; feed 0..255 pixels"),
        weights="fp16" if fp16_weights else "fp32",
        views=views or card.views,
        metrics={},
        calibration=Calibration(),
        extra={"ferkit_version": __version__, "input": INPUT_NAME, "output": OUTPUT_NAME} | _head_mix(card),
    )
    return save_with_card(proto, onnx_card, out)


def _head_mix(card) -> dict:
    mix = card.model_kwargs.get("head_mix")
    return {"head_mix": list(mix)} if mix else {}


def store_weights_as_fp16(proto) -> None:
    """Halve the file: large float weights are stored as fp16 and cast back to fp32 when the session loads,
    so inference still runs in fp32 (onnxruntime folds the casts once)."""
    import onnx
    from onnx import numpy_helper

    casts = []
    for initializer in proto.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or np.prod(initializer.dims) < 1024:
            continue
        weights = numpy_helper.to_array(initializer)
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(weights.astype(np.float16), f"{name}__fp16"))
        casts.append(onnx.helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)


def restore_fp32_weights(proto) -> None:
    """Undo store_weights_as_fp16: the casts' fp32 outputs become initializers again (same values)."""
    import onnx
    from onnx import numpy_helper

    halves = {i.name: i for i in proto.graph.initializer if i.name.endswith("__fp16")}
    kept = []
    for node in proto.graph.node:
        if node.op_type == "Cast" and node.input[0] in halves:
            weights = numpy_helper.to_array(halves.pop(node.input[0])).astype(np.float32)
            proto.graph.initializer.append(numpy_helper.from_array(weights, node.output[0]))
        else:
            kept.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
    survivors = [i for i in proto.graph.initializer if not i.name.endswith("__fp16")]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(survivors)
    onnx.checker.check_model(proto)


def save_with_card(proto, card: ModelCard, out: str | Path) -> Path:
    import onnx

    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {METADATA_KEY: card.to_json()})
    onnx.checker.check_model(proto)
    return atomic_write(out, lambda tmp: onnx.save(proto, tmp))


def read_card(path: str | Path) -> ModelCard:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return ModelCard.from_json({p.key: p.value for p in proto.metadata_props}[METADATA_KEY], str(path))


def write_metrics(path: str | Path, metrics: dict[str, SplitMetrics]) -> None:
    """Record measured metrics in the file itself, so the model card and the file cannot drift apart."""
    update_card(path, metrics=metrics)


def update_card(path: str | Path, **changes) -> None:
    """Replace fields of a file's card (metrics, calibration); the weights are written back unchanged."""
    import onnx

    proto = onnx.load(str(path))
    card = ModelCard.from_json({p.key: p.value for p in proto.metadata_props}[METADATA_KEY], str(path))
    save_with_card(proto, replace(card, **changes), path)
