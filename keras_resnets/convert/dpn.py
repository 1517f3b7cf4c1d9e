"""timm DPN state-dict names for our DPN layers (`keras_resnets.dpn`).

    features.conv1_1.conv / .bn                 our conv1_conv / conv1_bn
    features.conv{s}_{i}.c1x1_w_s1 / _s2        projection of block 1 (s1: stride 1, stage 2)
    features.conv{s}_{i}.c1x1_a / c3x3_b        our conv{s}_block{i}_1 / _2 (`.bn`, `.conv`)
    features.conv{s}_{i}.c1x1_c                 our _3_bn (`.bn`) and both _3_*_conv (`.conv`)
    features.conv{s}_{i}.c1x1_c1 / c1x1_c2      DPN68b: our _3_res_conv / _3_dense_conv
    features.conv5_bn_ac.bn, classifier         our post_bn, predictions

timm keeps one kernel for the residual and dense outputs of a projection or last 1x1
convolution; its first `spec.widths[stage]` output channels go to our `_res_conv`, the
rest to our `_dense_conv`. The classifier is a 1x1 convolution after the pooling, which
is our Dense layer.
"""

import re

import keras
import numpy as np

from keras_resnets.convert.checkpoint import discard_head

HEAD_KEYS = ("classifier.weight", "classifier.bias")
_PARTS = {"1": "c1x1_a", "2": "c3x3_b", "3": "c1x1_c"}
_SPLIT = re.compile(r"conv(\d)_block(\d+)_(proj|3)_(res|dense)_conv")


def _hwio(kernel):
    return None if kernel is None else np.transpose(kernel, (2, 3, 1, 0))


def torch_prefix(layer_name, spec):
    """Module of a layer that maps one-to-one (not the split convolutions, nor the head)."""
    fixed = {"conv1_conv": "conv1_1.conv", "conv1_bn": "conv1_1.bn", "post_bn": "conv5_bn_ac.bn"}
    if layer_name in fixed:
        return f"features.{fixed[layer_name]}"
    block = re.fullmatch(r"conv(\d)_block(\d+)_(proj|\d)_(bn|conv)", layer_name)
    if block is None:
        return None
    stage, index, part, kind = block.groups()
    module = _projection(int(stage), spec) if part == "proj" else _PARTS[part]
    return f"features.conv{stage}_{index}.{module}.{kind}"


def _projection(stage, spec):
    return "c1x1_w_s1" if spec.strides[stage - 2] == 1 else "c1x1_w_s2"


class _Kernels:
    """Takes each shared kernel once, however many of our layers read a slice of it."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.cache = {}

    def get(self, key):
        if key not in self.cache:
            self.cache[key] = self.tensors.take(key)
        return self.cache[key]


def _split_kernel(kernels, tensors, match, spec):
    stage, index, part, path = match.groups()
    block = f"features.conv{stage}_{index}"
    if part == "3" and tensors.has(f"{block}.c1x1_c1.weight"):
        return _hwio(tensors.take(f"{block}.c1x1_{'c1' if path == 'res' else 'c2'}.weight"))
    module = _projection(int(stage), spec) if part == "proj" else "c1x1_c"
    kernel = kernels.get(f"{block}.{module}.conv.weight")
    if kernel is None:
        return None
    width = spec.widths[int(stage) - 2]
    return _hwio(kernel[:width] if path == "res" else kernel[width:])


def mapping(tensors, model, spec):
    discard_head(tensors, model, HEAD_KEYS)
    kernels = _Kernels(tensors)
    pairs = []
    for layer in model.layers:
        if not layer.weights:
            continue
        split = _SPLIT.fullmatch(layer.name)
        if split:
            pairs.append((layer.name, [_split_kernel(kernels, tensors, split, spec)]))
        elif layer.name == "predictions" and isinstance(layer, keras.layers.Dense):
            kernel = tensors.take("classifier.weight")
            kernel = None if kernel is None else kernel[:, :, 0, 0].T
            pairs.append((layer.name, [kernel, tensors.take("classifier.bias")]))
        else:
            prefix = torch_prefix(layer.name, spec)
            pairs.append((layer.name, None if prefix is None else tensors.for_layer(layer, prefix)))
    return pairs

