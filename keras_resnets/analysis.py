"""Counting a built model: parameters and multiply-accumulates (MACs)."""

import math

import keras
import numpy as np


def count_params(model):
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    total = sum(math.prod(w.shape) for w in model.weights)
    return {"total": int(total), "trainable": int(trainable)}


def _spatial(shape):
    if keras.config.image_data_format() == "channels_first":
        return shape[2:]
    return shape[1:-1]


def count_macs(model):
    """MACs of one image through the convolutions and dense layers (the usual convention)."""
    macs = 0
    for layer in model.layers:
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
