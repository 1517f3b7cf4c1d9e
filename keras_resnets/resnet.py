"""ResNet v1 (He et al. 2015, "Deep Residual Learning for Image Recognition").

ResNet50/101/152 reproduce keras.applications' layout exactly (stride in the first 1x1,
biased convolutions), so the official Keras ImageNet files load. ResNet18/34 use
basic blocks with bias-free convolutions and BatchNorm epsilon 1e-5, as torchvision, and
load torchvision's and timm's ImageNet weights (`weights="tv_in1k"`, see torch_weights.py).
"""

import functools

from keras_resnets import imagenet, torch_weights  # noqa: F401 (rows before entrypoints)
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

PAPER = "He et al. 2015, arXiv:1512.03385"
_TORCHVISION_BASIC = dict(
    block="basic", use_bias=False, bn_epsilon=1e-5, preprocessing="torch", paper=PAPER
)

SPECS = [
    Spec("ResNet18", depths=(2, 2, 2, 2), **_TORCHVISION_BASIC),
    Spec("ResNet34", depths=(3, 4, 6, 3), **_TORCHVISION_BASIC),
    Spec("ResNet50", depths=(3, 4, 6, 3), paper=PAPER),
    Spec("ResNet101", depths=(3, 4, 23, 3), paper=PAPER),
    Spec("ResNet152", depths=(3, 8, 36, 3), paper=PAPER),
]

ResNet18, ResNet34, ResNet50, ResNet101, ResNet152 = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = functools.partial(imagenet.preprocess_input, mode="caffe")
preprocess_input.__doc__ = "Caffe-mode preprocessing (RGB->BGR, ImageNet mean subtracted)."
decode_predictions = imagenet.decode_predictions
