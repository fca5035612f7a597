"""Export: ONNX files that carry their labels, preprocessing and measured metrics (needs torch + onnx)."""
