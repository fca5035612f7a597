"""fp32 (or fp16-weight) ONNX -> int8 ONNX by static quantisation (onnxruntime), calibrated on training faces.

Int8 convolutions run on the CPU's VNNI/AMX units; whether the accuracy survives is measured, never assumed:
`ferkit export --int8 --store` records the int8 file's own metrics beside the fp32 ones.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ferkit.card import Calibration
from ferkit.data.store import load_store
from ferkit.errors import FerkitError
from ferkit.export.onnx import INPUT_NAME, read_card, restore_fp32_weights, save_with_card, store_weights_as_fp16
from ferkit.faces import resize_faces
from ferkit.views import center_crops

CALIBRATION_SPLIT = "Training"  # never a test split: calibration is a kind of fitting


def calibration_pixels(
    store_path: str | Path, image_size: int, input_size: int, count: int, seed: int = 0
) -> np.ndarray:
    """A fixed random sample of training faces as the model's input: (count, 1, input, input) float32 0..255."""
    part = load_store(store_path).split(CALIBRATION_SPLIT)
    chosen = np.random.default_rng(seed).choice(len(part), min(count, len(part)), replace=False)
    faces = resize_faces(part.images[np.sort(chosen)], image_size)
    return center_crops(faces, input_size)[0][:, None].astype(np.float32)


class _Batches:
    """onnxruntime's CalibrationDataReader protocol: get_next() -> feed dict, None when done."""

    def __init__(self, input_name: str, pixels: np.ndarray, batch_size: int = 64):
        self.feeds = iter([{input_name: pixels[i : i + batch_size]} for i in range(0, len(pixels), batch_size)])

    def get_next(self):
        return next(self.feeds, None)


def quantize_int8(
    source_path: str | Path, out: str | Path, store_path: str | Path, count: int = 512, method: str = "percentile"
) -> Path:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    card = read_card(source_path)
    if card.weights not in ("fp32", "fp16"):
        raise FerkitError(f"{source_path}: int8 quantisation starts from fp32 or fp16 weights, not {card.weights}")
    preprocessing = card.preprocessing
    pixels = calibration_pixels(store_path, preprocessing.image_size, preprocessing.input_size, count)
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    with tempfile.TemporaryDirectory() as folder:
        fp32, prepared, quantized = (Path(folder) / name for name in ("fp32.onnx", "prepared.onnx", "int8.onnx"))
        source = onnx.load(str(source_path))
        restore_fp32_weights(source)
        onnx.save(source, str(fp32))
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantized),
            _Batches(card.extra.get("input", INPUT_NAME), pixels),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
            # The softmax stays in float: its probabilities are what users read.
            op_types_to_quantize=["Conv", "MaxPool", "Relu", "Flatten", "Reshape"],
            nodes_to_exclude=[first_convolution(onnx.load(str(prepared)))],
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        proto = onnx.load(str(quantized))
    if card.weights == "fp16":
        store_weights_as_fp16(proto)  # the float head goes back to the fp16 it came from: lossless, half the size
    quantisation = {
        "method": f"static QDQ, per-channel int8 weights, uint8 activations, {method} calibration; "
        "first convolution and fully connected head in fp32",
        "calibration": f"{len(pixels)} random {CALIBRATION_SPLIT} faces",
    }
    int8_card = replace(
        card, weights="int8", metrics={}, calibration=Calibration(), extra={**card.extra, "quantisation": quantisation}
    )
    return save_with_card(proto, int8_card, out)


def first_convolution(proto) -> str:
    """Measured on validation faces (the L1 distance of int8 from fp32 probabilities): the first convolution,
    one gray channel of raw pixels, loses most to int8 rounding and costs little in float; so does the head,
    a few per cent of the multiply-adds. Everything else is int8."""
    return next(node.name for node in proto.graph.node if node.op_type == "Conv")
