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

from keras_resnets import imagenet, resnet_bd
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

RESNEXT = dict(family="resnext", paper="Xie et al. 2017, arXiv:1611.05431", **resnet_bd.BOTTLENECK)
# keras_applications' ResNeXt preprocesses in "torch" mode (its ResNets in "caffe" mode).
KERAS2_RESNEXT = dict(RESNEXT, bn_epsilon=1.001e-5, groups=32, base_width=4)
WIDE = dict(
    base_width=128,
    family="wide_resnet",
    paper="Zagoruyko & Komodakis 2016, arXiv:1605.07146",
    **resnet_bd.BOTTLENECK,
)
D50, D101 = resnet_bd.DEPTHS[50], resnet_bd.DEPTHS[101]

ResNeXt50_32x4d = entrypoint(Spec("ResNeXt50_32x4d", depths=D50, groups=32, base_width=4, **RESNEXT), __name__)
ResNeXt101_32x8d = entrypoint(Spec("ResNeXt101_32x8d", depths=D101, groups=32, base_width=8, **RESNEXT), __name__)
ResNeXt101_64x4d = entrypoint(Spec("ResNeXt101_64x4d", depths=D101, groups=64, base_width=4, **RESNEXT), __name__)
WideResNet50_2 = entrypoint(Spec("WideResNet50_2", depths=D50, **WIDE), __name__)
WideResNet101_2 = entrypoint(Spec("WideResNet101_2", depths=D101, **WIDE), __name__)
ResNeXt50 = entrypoint(Spec("ResNeXt50", depths=D50, **KERAS2_RESNEXT), __name__)
ResNeXt101 = entrypoint(Spec("ResNeXt101", depths=D101, **KERAS2_RESNEXT), __name__)

preprocess_input = imagenet.preprocessor("torch")
decode_predictions = imagenet.decode_predictions
