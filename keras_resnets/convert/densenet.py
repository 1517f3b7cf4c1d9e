"""torchvision/timm DenseNet state-dict names for our DenseNet layers.

torchvision and timm name the modules alike:

    features.conv0, features.norm0                                  stem
    features.denseblock{s-1}.denselayer{i}.norm1 / conv1 / norm2 / conv2
                                                                    our conv{s}_block{i}_0_bn / _1_conv / _1_bn / _2_conv
    features.transition{s-1}.norm / .conv                           our pool{s}_bn / pool{s}_conv
    features.norm5, classifier                                      our bn, predictions

torchvision's own files predate that naming and say `norm.1`, `conv.1`, `norm.2`, `conv.2`
inside a dense layer; both spellings are read.
"""

import functools
import re

import keras
import numpy as np

from keras_resnets.convert.checkpoint import by_prefix

# BatchNorm epsilon of torchvision and timm; keras.applications' DenseNet uses 1.001e-5.
TORCH_EPSILON = 1e-5
HEAD_KEYS = ("classifier.weight", "classifier.bias")
_LAYER = {"0_bn": "norm1", "1_conv": "conv1", "1_bn": "norm2", "2_conv": "conv2"}
_LEGACY_LAYER = {"0_bn": "norm.1", "1_conv": "conv.1", "1_bn": "norm.2", "2_conv": "conv.2"}


def torch_prefix(layer_name, spec, legacy=False):
    fixed = {"conv1_conv": "conv0", "conv1_bn": "norm0", "bn": "norm5"}
    if layer_name == "predictions":
        return "classifier"
    if layer_name in fixed:
        return f"features.{fixed[layer_name]}"
    block = re.fullmatch(r"conv(\d)_block(\d+)_(\d_(?:bn|conv))", layer_name)
    if block:
        stage, index, part = block.groups()
        inner = (_LEGACY_LAYER if legacy else _LAYER).get(part)
        block_prefix = f"features.denseblock{int(stage) - 1}.denselayer{index}"
        return None if inner is None else f"{block_prefix}.{inner}"
    transition = re.fullmatch(r"pool(\d)_(bn|conv)", layer_name)
    if transition:
        stage, kind = transition.groups()
        return f"features.transition{int(stage) - 1}.{'norm' if kind == 'bn' else 'conv'}"
    return None


def mapping(tensors, model, spec):
    legacy = tensors.has("features.denseblock1.denselayer1.norm.1.weight")
    prefix = functools.partial(torch_prefix, legacy=legacy)
    pairs = by_prefix(prefix, head_keys=HEAD_KEYS)(tensors, model, spec)
    return [(name, _match_epsilon(model.get_layer(name), arrays)) for name, arrays in pairs]


def _match_epsilon(layer, arrays):
    """Moves the epsilon difference into the variance, so `var + eps` is PyTorch's exactly."""
    if not isinstance(layer, keras.layers.BatchNormalization) or arrays is None:
        return arrays
    if arrays[3] is None:
        return arrays
    variance = arrays[3].astype(np.float64) + TORCH_EPSILON - layer.epsilon
    return arrays[:3] + [variance.astype(np.float32)]

