"""Squeeze-excitation (Hu et al. 2018) and CBAM (Woo et al. 2018) ResNets.

Attention is an option of the block (`Spec.attention`, see `keras_resnets.attention`),
so these rows are ResNet-B / ResNeXt rows with `attention="se"` or `"cbam"`, in timm's
layout (`seresnet50`, `seresnext50_32x4d`, ...), whose checkpoints convert. Any other
model takes it too: `create_model("resnet50d", attention="se")`.
"""

from keras_resnets import imagenet, resnet_bd
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

SE = dict(attention="se", family="senet", paper="Hu et al. 2018, arXiv:1709.01507", **resnet_bd.TORCH_LAYOUT)
CBAM = dict(attention="cbam", family="senet", paper="Woo et al. 2018, arXiv:1807.06521", **resnet_bd.TORCH_LAYOUT)


SPECS = [
    Spec(f"SEResNet{d}", depths=resnet_bd.DEPTHS[d], block=resnet_bd.block_kind(d), **SE)
    for d in (18, 34, 50, 101, 152)
] + [
    Spec("SEResNeXt50_32x4d", depths=resnet_bd.DEPTHS[50], groups=32, base_width=4, **SE),
    Spec("SEResNeXt101_32x4d", depths=resnet_bd.DEPTHS[101], groups=32, base_width=4, **SE),
    Spec("CBAMResNet50", depths=resnet_bd.DEPTHS[50], **CBAM),
]

(
    SEResNet18,
    SEResNet34,
    SEResNet50,
    SEResNet101,
    SEResNet152,
    SEResNeXt50_32x4d,
    SEResNeXt101_32x4d,
    CBAMResNet50,
) = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = resnet_bd.preprocess_input
decode_predictions = imagenet.decode_predictions
