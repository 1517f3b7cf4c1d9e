"""Counting a built model: parameters and multiply-accumulates (MACs)."""

import math

import keras
import numpy as np

from keras_resnets.convert.checkpoint import flat_layers


def trainable_params(model):
    """Parameters the optimizer updates (what torchvision and timm count as parameters)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def count_params(model):
    """Trainable and total parameters; the total includes BatchNorm's moving statistics."""
    return {"total": int(sum(math.prod(w.shape) for w in model.weights)), "trainable": trainable_params(model)}


def _spatial(shape):
    if keras.config.image_data_format() == "channels_first":
        return shape[2:]
    return shape[1:-1]


def count_macs(model):
    """MACs of one image through the convolutions and dense layers (the usual convention),
    those of nested models (a task model's backbone) included."""
    macs = 0
    for layer in flat_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            kernel = layer.kernel.shape  # (kh, kw, in / groups, out)
            out_pixels = math.prod(_spatial(layer.output.shape))
            macs += out_pixels * int(np.prod(kernel))
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            out_pixels = math.prod(_spatial(layer.output.shape))
            macs += out_pixels * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            macs += int(np.prod(layer.kernel.shape))
    return int(macs)
