"""Export the MTCNN networks to ONNX, once, so the runtime detector needs no torch."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ferkit.errors import FerkitError
from ferkit.models.mtcnn import MTCNN_NETS

INPUT_SIDES = {"pnet": 12, "rnet": 24, "onet": 48}
OUTPUTS = {"pnet": ["prob", "reg"], "rnet": ["prob", "reg"], "onet": ["prob", "reg", "landmarks"]}


def load_mtcnn(weights_dir: str | Path) -> dict[str, torch.nn.Module]:
    nets = {}
    for name, cls in MTCNN_NETS.items():
        path = Path(weights_dir) / f"{name}.pt"
        if not path.is_file():
            raise FerkitError(f"{path}: missing (expected pnet.pt, rnet.pt and onet.pt state dicts)")
        net = cls()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        nets[name] = net.eval()
    return nets


def export_mtcnn(weights_dir: str | Path, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, net in load_mtcnn(weights_dir).items():
        side = INPUT_SIDES[name]
        # P-Net slides over whole images, so its height and width are free; R/O-Net take fixed crops.
        axes = {0: "batch", 2: "height", 3: "width"} if name == "pnet" else {0: "batch"}
        dynamic = {"image": axes, **{output: {0: "batch"} for output in OUTPUTS[name]}}
        path = out_dir / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                net,
                (torch.zeros(1, 3, side, side),),
                str(path),
                dynamo=False,
                opset_version=17,
                input_names=["image"],
                output_names=OUTPUTS[name],
                dynamic_axes=dynamic,
            )
        written.append(path)
    return written
