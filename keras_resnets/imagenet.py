"""ImageNet preprocessing and label decoding, offline.

`preprocess_input` reuses keras.applications' modes ("caffe": BGR, mean subtracted;
"tf": scaled to [-1, 1]; "torch": [0, 1] then ImageNet mean/std), so numbers match the
official weights exactly. The 1000 class names ship with the package
(`data/imagenet_class_index.json`: WordNet ids in the standard order, with the short
names of torchvision's table), so `decode_predictions` never downloads anything.
"""

import functools
import json
import os

import keras
import numpy as np
from keras.applications import imagenet_utils

from keras_resnets.core.modes import PREPROCESSING_MODES

MODES = PREPROCESSING_MODES
# "dpn": the MXNet Dual Path Networks' (timm's IMAGENET_DPN_MEAN/STD): RGB, (x - mean) * 0.0167.
DPN_MEAN = (124.0, 117.0, 104.0)
DPN_SCALE = 0.0167


MODE_DOCS = {
    "caffe": "Caffe-mode preprocessing: RGB -> BGR, then the ImageNet mean subtracted per channel.",
    "tf": "TF-mode preprocessing: pixels scaled from [0, 255] to [-1, 1].",
    "torch": "Torch-mode preprocessing: pixels scaled to [0, 1], then ImageNet mean and std.",
    "dpn": "DPN-mode preprocessing (MXNet Dual Path Networks): RGB, (x - (124, 117, 104)) * 0.0167.",
}


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"Unknown preprocessing mode {mode!r}; use one of {MODES}.")


def preprocess_input(x, mode="caffe", data_format=None):
    """Preprocesses RGB images in [0, 255] for weights trained with `mode`."""
    _check_mode(mode)
    if mode == "dpn":
        return _dpn_preprocess(x, data_format)
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)


def preprocessor(mode):
    """A family module's `preprocess_input(x, data_format=None)`, keras.applications' signature.

    A real function rather than a `functools.partial`, so that `data_format` can be passed
    positionally, as `keras.applications.resnet.preprocess_input(x, "channels_first")`.
    """
    _check_mode(mode)

    def preprocess_input_for_mode(x, data_format=None):
        return preprocess_input(x, mode=mode, data_format=data_format)

    preprocess_input_for_mode.__name__ = preprocess_input_for_mode.__qualname__ = "preprocess_input"
    preprocess_input_for_mode.__doc__ = (
        f"{MODE_DOCS[mode]}\n\nArgs:\n    x: RGB images in [0, 255], a NumPy array or a tensor.\n"
        "    data_format: \"channels_last\" or \"channels_first\"; default: Keras' setting."
    )
    return preprocess_input_for_mode


@keras.saving.register_keras_serializable(package="keras_resnets")
class Preprocess(keras.layers.Layer):
    """`preprocess_input` for one mode, as a layer: the model then takes RGB in [0, 255].

    Used by `include_preprocessing=True` and by the task models. Always computes in
    float32 (also under mixed precision): caffe-mode mean subtraction on [0, 255] values
    would round visibly in bfloat16.
    """

    def __init__(self, mode, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        _check_mode(mode)
        self.mode = mode

    def call(self, images):
        return preprocess_input(images, mode=self.mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _dpn_preprocess(x, data_format):
    data_format = data_format or keras.config.image_data_format()
    mean = np.reshape(DPN_MEAN, (3, 1, 1) if data_format == "channels_first" else (3,))
    if isinstance(x, np.ndarray):
        return ((x.astype(keras.config.floatx()) - mean) * DPN_SCALE).astype(keras.config.floatx())
    x = keras.ops.cast(x, keras.config.floatx())
    return (x - keras.ops.cast(mean, x.dtype)) * DPN_SCALE


@functools.lru_cache(maxsize=1)
def class_index():
    path = os.path.join(os.path.dirname(__file__), "data", "imagenet_class_index.json")
    with open(path) as f:
        return {int(k): tuple(v) for k, v in json.load(f).items()}


def decode_predictions(preds, top=5):
    """Top-`top` `(wnid, name, score)` tuples for each row of a `(batch, 1000)` array."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of ImageNet predictions, shape "
            f"(samples, 1000). Received array of shape {preds.shape}"
        )
    index = class_index()
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(*index[int(i)], float(row[i])) for i in best])
    return results
