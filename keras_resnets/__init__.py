"""keras_resnets: the residual-network family for Keras 3 (TensorFlow, JAX, PyTorch)."""

from keras_resnets import resnet, resnet_v2
from keras_resnets.imagenet import decode_predictions
from keras_resnets.registry import create_model, get_spec, list_models, model_info
from keras_resnets.resnet import ResNet18, ResNet34, ResNet50, ResNet101, ResNet152
from keras_resnets.resnet_v2 import (
    ResNet18V2,
    ResNet34V2,
    ResNet50V2,
    ResNet101V2,
    ResNet152V2,
)
from keras_resnets.weights import WeightsUnavailableError

__version__ = "0.1.0"


def preprocess_input(x, model, data_format=None):
    """Preprocesses RGB [0, 255] images the way `model`'s weights expect.

    `model` is a registry name (e.g. "resnet50v2") or a spec; the mode comes from it.
    """
    spec = get_spec(model) if isinstance(model, str) else model
    from keras_resnets.imagenet import preprocess_input as by_mode

    return by_mode(x, mode=spec.preprocessing, data_format=data_format)
