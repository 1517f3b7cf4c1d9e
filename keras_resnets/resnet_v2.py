"""Pre-activation ResNet, "V2" (He et al. 2016, "Identity Mappings in Deep Residual Networks").

ResNet50V2/101V2/152V2 reproduce keras.applications' layout (stride in the last block of
a stage, biased last convolution), so the official Keras ImageNet files load. The
basic-block V2 nets use the same rules; no official weights exist for them.
"""

import functools

from keras_resnets import imagenet
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

_V2 = dict(
    preact=True,
    strides=(2, 2, 2, 1),
    stride_block="last",
    stride_conv="3x3",
    preprocessing="tf",
    paper="He et al. 2016, arXiv:1603.05027",
)

SPECS = [
    Spec("ResNet18V2", depths=(2, 2, 2, 2), block="basic", **_V2),
    Spec("ResNet34V2", depths=(3, 4, 6, 3), block="basic", **_V2),
    Spec("ResNet50V2", depths=(3, 4, 6, 3), **_V2),
    Spec("ResNet101V2", depths=(3, 4, 23, 3), **_V2),
    Spec("ResNet152V2", depths=(3, 8, 36, 3), **_V2),
]

ResNet18V2, ResNet34V2, ResNet50V2, ResNet101V2, ResNet152V2 = (
    entrypoint(s, __name__) for s in SPECS
)

preprocess_input = functools.partial(imagenet.preprocess_input, mode="tf")
preprocess_input.__doc__ = "TF-mode preprocessing (scales pixels to [-1, 1])."
decode_predictions = imagenet.decode_predictions
