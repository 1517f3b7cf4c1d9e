"""keras_resnets: the residual-network family for Keras 3 (TensorFlow, JAX, PyTorch)."""

from keras_resnets import resnet, resnet_v2
from keras_resnets.densenet import DenseNet121, DenseNet169, DenseNet201, DenseNet264
from keras_resnets.dpn import DPN68, DPN92, DPN98, DPN107, DPN131, DPN68b
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
from keras_resnets.resnet_bd import (
    ResNet18D,
    ResNet34D,
    ResNet50B,
    ResNet50D,
    ResNet101B,
    ResNet101D,
    ResNet152B,
    ResNet152D,
)
from keras_resnets.resnext import (
    ResNeXt50,
    ResNeXt101,
    ResNeXt50_32x4d,
    ResNeXt101_32x8d,
    ResNeXt101_64x4d,
    WideResNet50_2,
    WideResNet101_2,
)
from keras_resnets.senet import (
    CBAMResNet50,
    SEResNet18,
    SEResNet34,
    SEResNet50,
    SEResNet101,
    SEResNet152,
    SEResNeXt50_32x4d,
    SEResNeXt101_32x4d,
)
from keras_resnets.cifar import (
    WRN16_8,
    WRN28_10,
    WRN40_4,
    ResNet20,
    ResNet32,
    ResNet44,
    ResNet56,
    ResNet110,
    ResNet1202,
)
from keras_resnets.variants import (
    HighwayNet18,
    HighwayNet20,
    HighwayNet32,
    HighwayNet34,
    HighwayNet44,
    HighwayNet56,
    HighwayNet110,
    PlainNet18,
    PlainNet20,
    PlainNet32,
    PlainNet34,
    PlainNet44,
    PlainNet56,
    PlainNet110,
    WeightedResNet20,
    WeightedResNet32,
    WeightedResNet44,
    WeightedResNet56,
    WeightedResNet110,
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
