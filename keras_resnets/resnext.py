"""ResNeXt (Xie et al. 2017) and ImageNet Wide ResNets (Zagoruyko & Komodakis 2016).

Both are the ResNet-B bottleneck with a different 3x3 convolution: ResNeXt splits it
into `groups` groups of `base_width` channels (per 64 of the stage width), WRN-50-2 and
WRN-101-2 double its width. These are torchvision's rows (`groups`, `width_per_group`),
so torchvision and timm checkpoints convert (`weights="tv_in1k"`, ...).

`ResNeXt50` and `ResNeXt101` are keras_applications' (Keras 2) ResNeXt-32x4d: the same
architecture and layer names, with keras.applications' BatchNorm epsilon (1.001e-5), so its
official ImageNet files load (`weights="imagenet"`, the default). Those files keep each
grouped 3x3 as a depthwise kernel, converted on load (`keras_resnets.convert.keras2`); the
parameters are the same numbers in another order, so the counts equal ResNeXt50_32x4d's.
"""

import dataclasses
import functools

from keras_resnets import imagenet, resnet_bd
from keras_resnets import weights as weights_lib
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

RESNEXT = dict(family="resnext", paper="Xie et al. 2017, arXiv:1611.05431", **resnet_bd.TORCH_LAYOUT)
# keras_applications' ResNeXt preprocesses in "torch" mode (its ResNets in "caffe" mode).
KERAS2_RESNEXT = dict(RESNEXT, bn_epsilon=1.001e-5, groups=32, base_width=4)
WIDE = dict(
    base_width=128,
    family="wide_resnet",
    paper="Zagoruyko & Komodakis 2016, arXiv:1605.07146",
    **resnet_bd.TORCH_LAYOUT,
)

# fmt: off
for _row in (
    weights_lib.keras_applications_row("resnext50", "67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc", "torch"),
    weights_lib.keras_applications_row("resnext101", "34fb605428fcc7aa4d62f44404c11509", "0f678c91647380debd923963594981b3", "torch"),
):
    weights_lib.register(dataclasses.replace(_row, layout="keras2_resnext"))
# fmt: on

SPECS = [
    Spec("ResNeXt50_32x4d", depths=resnet_bd.DEPTHS[50], groups=32, base_width=4, **RESNEXT),
    Spec("ResNeXt101_32x8d", depths=resnet_bd.DEPTHS[101], groups=32, base_width=8, **RESNEXT),
    Spec("ResNeXt101_64x4d", depths=resnet_bd.DEPTHS[101], groups=64, base_width=4, **RESNEXT),
    Spec("WideResNet50_2", depths=resnet_bd.DEPTHS[50], **WIDE),
    Spec("WideResNet101_2", depths=resnet_bd.DEPTHS[101], **WIDE),
    Spec("ResNeXt50", depths=resnet_bd.DEPTHS[50], **KERAS2_RESNEXT),
    Spec("ResNeXt101", depths=resnet_bd.DEPTHS[101], **KERAS2_RESNEXT),
]

(
    ResNeXt50_32x4d,
    ResNeXt101_32x8d,
    ResNeXt101_64x4d,
    WideResNet50_2,
    WideResNet101_2,
    ResNeXt50,
    ResNeXt101,
) = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = resnet_bd.preprocess_input
decode_predictions = imagenet.decode_predictions
