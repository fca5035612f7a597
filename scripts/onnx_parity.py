"""How closely an exported ONNX file follows the torch checkpoint it came from, on one store split: the largest
absolute probability difference (issue 4 allows 1e-4 for fp32) and the top-1 agreement (>= 99% for int8/fp16).
Kept for the runs whose checkpoints do not ship; the shipped VGG pair is tested in tests/runtime.

    python scripts/onnx_parity.py runs/RUN/best.pt MODEL.onnx --store stores/fer2013.npz [--split PrivateTest]
"""

from __future__ import annotations

import argparse

from ferkit.data import load_store
from ferkit.runtime.recognizer import EmotionRecognizer
from ferkit.training.predict import CheckpointPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("onnx")
    parser.add_argument("--store", required=True)
    parser.add_argument("--split", default="PrivateTest")
    args = parser.parse_args()
    faces = load_store(args.store).split(args.split).images
    torch_probabilities = CheckpointPredictor(args.checkpoint).predict_prepared(faces)
    onnx_probabilities = EmotionRecognizer(args.onnx).predict_prepared(faces)
    agreement = (torch_probabilities.argmax(1) == onnx_probabilities.argmax(1)).mean()
    largest = abs(torch_probabilities - onnx_probabilities).max()
    print(
        f"{args.split}: {len(faces)} faces, top-1 agreement {agreement:.4f}, "
        f"max abs probability difference {largest:.2e}"
    )


if __name__ == "__main__":
    main()
