"""Pre-activation ResNet, "V2" (He et al. 2016, "Identity Mappings in Deep Residual Networks").

ResNet50V2/101V2/152V2 reproduce keras.applications' layout (stride in the last block of
a stage, biased last convolution), so the official Keras ImageNet files load. The
basic-block V2 nets use the same rules; no official weights exist for them.
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

V2 = dict(
    preact=True,
    strides=(2, 2, 2, 1),
    stride_block="last",
    preprocessing="tf",
    paper="He et al. 2016, arXiv:1603.05027",
)
BASIC_V2 = dict(block="basic", **V2)
BOTTLENECK_V2 = dict(stride_conv="3x3", **V2)

ResNet18V2 = entrypoint(Spec("ResNet18V2", depths=(2, 2, 2, 2), **BASIC_V2), __name__)
ResNet34V2 = entrypoint(Spec("ResNet34V2", depths=(3, 4, 6, 3), **BASIC_V2), __name__)
ResNet50V2 = entrypoint(Spec("ResNet50V2", depths=(3, 4, 6, 3), **BOTTLENECK_V2), __name__)
ResNet101V2 = entrypoint(Spec("ResNet101V2", depths=(3, 4, 23, 3), **BOTTLENECK_V2), __name__)
ResNet152V2 = entrypoint(Spec("ResNet152V2", depths=(3, 8, 36, 3), **BOTTLENECK_V2), __name__)

preprocess_input = imagenet.preprocessor("tf")
decode_predictions = imagenet.decode_predictions
