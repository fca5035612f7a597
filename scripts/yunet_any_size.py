"""Rewrite OpenCV Zoo's YuNet (fixed 640x640 input) to take any input size, for onnxruntime.

OpenCV's FaceDetectorYN reshapes the network to each photo's size itself; onnxruntime checks the declared input
shape, so the shipped file declares height and width (and the per-stride output lengths) as symbolic. Weights
and operators are untouched. Run once; the result is shipped in src/ferkit/runtime/weights/yunet/.

    python scripts/yunet_any_size.py ORIGINAL.onnx OUT.onnx
"""

import sys

import onnx


def main(source: str, out: str) -> None:
    model = onnx.load(source)
    height, width = model.graph.input[0].type.tensor_type.shape.dim[2:]
    height.dim_param, width.dim_param = "height", "width"
    for output in model.graph.output:
        cells = output.type.tensor_type.shape.dim[1]  # H/stride x W/stride anchors
        cells.dim_param = f"cells_{output.name.split('_')[1]}"
    del model.graph.value_info[:]  # intermediate shapes recorded for 640x640; onnxruntime infers its own
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
