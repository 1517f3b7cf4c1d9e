"""Squeeze-excitation (Hu et al. 2018) and CBAM (Woo et al. 2018) ResNets.

Attention is an option of the block (`Spec.attention`, see `keras_resnets.blocks.attention`),
so these rows are ResNet-B / ResNeXt rows with `attention="se"` or `"cbam"`, in timm's
layout (`seresnet50`, `seresnext50_32x4d`, ...), whose checkpoints convert. Any other
model takes it too: `create_model("resnet50d", attention="se")`.
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec
from keras_resnets.resnet_bd import BASIC, BOTTLENECK, DEPTHS

SE_ATTENTION = dict(attention="se", family="senet", paper="Hu et al. 2018, arXiv:1709.01507")
SE = dict(SE_ATTENTION, **BOTTLENECK)
SE_BASIC = dict(SE_ATTENTION, **BASIC)
CBAM = dict(attention="cbam", family="senet", paper="Woo et al. 2018, arXiv:1807.06521", **BOTTLENECK)

SEResNet18 = entrypoint(Spec("SEResNet18", depths=DEPTHS[18], **SE_BASIC), __name__)
SEResNet34 = entrypoint(Spec("SEResNet34", depths=DEPTHS[34], **SE_BASIC), __name__)
SEResNet50 = entrypoint(Spec("SEResNet50", depths=DEPTHS[50], **SE), __name__)
SEResNet101 = entrypoint(Spec("SEResNet101", depths=DEPTHS[101], **SE), __name__)
SEResNet152 = entrypoint(Spec("SEResNet152", depths=DEPTHS[152], **SE), __name__)
SEResNeXt50_32x4d = entrypoint(
    Spec("SEResNeXt50_32x4d", depths=DEPTHS[50], groups=32, base_width=4, **SE), __name__
)
SEResNeXt101_32x4d = entrypoint(
    Spec("SEResNeXt101_32x4d", depths=DEPTHS[101], groups=32, base_width=4, **SE), __name__
)
CBAMResNet50 = entrypoint(Spec("CBAMResNet50", depths=DEPTHS[50], **CBAM), __name__)

preprocess_input = imagenet.preprocessor("torch")
decode_predictions = imagenet.decode_predictions
