"""ResNeXt (Xie et al. 2017) and ImageNet Wide ResNets (Zagoruyko & Komodakis 2016).

Both are the ResNet-B bottleneck with a different 3x3 convolution: ResNeXt splits it
into `groups` groups of `base_width` channels (per 64 of the stage width), WRN-50-2 and
WRN-101-2 double its width. These are torchvision's rows (`groups`, `width_per_group`),
so torchvision and timm checkpoints convert (`weights="tv_in1k"`, ...).
"""

import functools

from keras_resnets import imagenet, resnet_bd
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

RESNEXT = dict(family="resnext", paper="Xie et al. 2017, arXiv:1611.05431", **resnet_bd.TORCH_LAYOUT)
WIDE = dict(
    base_width=128,
    family="wide_resnet",
    paper="Zagoruyko & Komodakis 2016, arXiv:1605.07146",
    **resnet_bd.TORCH_LAYOUT,
)

SPECS = [
    Spec("ResNeXt50_32x4d", depths=resnet_bd.DEPTHS[50], groups=32, base_width=4, **RESNEXT),
    Spec("ResNeXt101_32x8d", depths=resnet_bd.DEPTHS[101], groups=32, base_width=8, **RESNEXT),
    Spec("ResNeXt101_64x4d", depths=resnet_bd.DEPTHS[101], groups=64, base_width=4, **RESNEXT),
    Spec("WideResNet50_2", depths=resnet_bd.DEPTHS[50], **WIDE),
    Spec("WideResNet101_2", depths=resnet_bd.DEPTHS[101], **WIDE),
]

ResNeXt50_32x4d, ResNeXt101_32x8d, ResNeXt101_64x4d, WideResNet50_2, WideResNet101_2 = (
    entrypoint(s, __name__) for s in SPECS
)

preprocess_input = resnet_bd.preprocess_input
decode_predictions = imagenet.decode_predictions
