"""The torch-free runtime: numpy, OpenCV and onnxruntime only."""
