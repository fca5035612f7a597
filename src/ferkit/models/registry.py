"""A name -> builder registry, with the input geometry each model was designed for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ferkit.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable
    image_size: int = 48  # the face crop is resized to this before cropping
    input_size: int = 48  # what the network sees: a random crop in training, centre or ten crops at test
    description: str = ""


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(image_size: int = 48, input_size: int = 48, description: str = ""):
    def decorate(builder: Callable) -> Callable:
        _REGISTRY[builder.__name__] = ModelSpec(builder.__name__, builder, image_size, input_size, description)
        return builder

    return decorate


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[name]


def create_model(name: str, num_classes: int = 7, **kwargs):
    """A registered network by name (`ferkit models` lists them), untrained, as a torch module: its input size
    is `get_spec(name).input_size`; `kwargs` go to the family's builder (e.g. `width` for the ResNets)."""
    return get_spec(name).builder(num_classes=num_classes, **kwargs)


def model_summary(name: str, num_classes: int = 7) -> dict:
    """Parameters and multiply-accumulates (millions) for one image at the model's input size."""
    import torch

    spec = get_spec(name)
    model = create_model(name, num_classes).eval()
    macs = _count_macs(model, torch.zeros(1, 1, spec.input_size, spec.input_size))
    return {
        "name": name,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "mmacs": macs / 1e6,
        "mflops": 2 * macs / 1e6,
        "input_size": spec.input_size,
        "image_size": spec.image_size,
        "description": spec.description,
    }


def _count_macs(model, example) -> int:
    import torch

    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        kernel = module.weight[0].numel()  # in_channels/groups * kh * kw
        total += output.numel() * kernel

    def linear_hook(module, inputs, output):
        nonlocal total
        total += module.in_features * module.out_features

    hooks = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, torch.nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(example)
    for hook in hooks:
        hook.remove()
    return total
