"""Model registry: every network is a name. `create_model("vgg_khaireddin", num_classes=7)`."""

from ferkit.models.registry import ModelSpec, create_model, get_spec, list_models, model_summary, register_model

# Importing the families registers their models.
from ferkit.models import small, vgg, resnet, xception  # noqa: E402,F401  isort: skip

__all__ = ["ModelSpec", "create_model", "get_spec", "list_models", "model_summary", "register_model"]
