"""The one input every exported graph takes, and Keras' own ONNX export of a model with it.

A leaf that `artifacts` (every writer) and `torch_onnx` (the PyTorch-backend process) both
use, so that neither imports the other.
"""

import os

INPUT_NAME = "images"


def input_spec(model, dtype="float32"):
    """NHWC `dtype` images with a dynamic batch and the model's fixed spatial size."""
    import keras

    return keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype=dtype, name=INPUT_NAME)


def write_keras_onnx(model, path):
    """ONNX through Keras' `format="onnx"` export: tf2onnx under TensorFlow, torch.onnx under PyTorch."""
    model.export(os.fspath(path), format="onnx", input_signature=[input_spec(model)], verbose=False)
