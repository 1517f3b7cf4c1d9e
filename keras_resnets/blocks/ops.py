"""The three layers every block is made of, with the project's padding and axis rules."""

import keras
from keras import layers


def channel_axis():
    # Positive, as keras.applications writes it, so that our layer configs equal theirs.
    return 3 if keras.config.image_data_format() == "channels_last" else 1


def conv(x, filters, kernel, stride, name, use_bias, groups=1, explicit_pad=False, dilation=1):
    """A convolution whose padding matches PyTorch and Caffe (symmetric, dilation * (k // 2)).

    TensorFlow's "same" pads asymmetrically when the stride is 2, so strided and
    explicitly padded convolutions get a ZeroPadding2D layer named `<name>_pad`.
    """
    padding = "valid"
    if kernel > 1:
        if explicit_pad or stride > 1:
            x = layers.ZeroPadding2D(dilation * (kernel // 2), name=f"{name}_pad")(x)
        else:
            padding = "same"
    return layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        use_bias=use_bias,
        name=f"{name}_conv",
    )(x)


def batch_norm(x, name, epsilon):
    return layers.BatchNormalization(axis=channel_axis(), epsilon=epsilon, name=name)(x)


def relu(x, name):
    return layers.Activation("relu", name=name)(x)
