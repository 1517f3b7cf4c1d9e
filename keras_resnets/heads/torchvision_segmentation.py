"""torchvision's segmentation heads (DeepLabV3, FCN, the auxiliary FCN), layer for layer.

torchvision's `models/segmentation/{deeplabv3,fcn}.py` in Keras layers, so that its COCO-VOC
checkpoints load one tensor per layer (`keras_resnets.convert.tv_segmentation` names them):

- `deeplab_v3` (Chen et al. 2017, arXiv:1706.05587): ASPP at rates 12/24/36 with image
  pooling, projected by 1x1 + BN + ReLU + dropout 0.5, then 3x3 conv 256 + BN + ReLU and
  1x1 class logits. The rates are torchvision's for its stride-8 backbone.
- `fcn` (Long et al. 2015, arXiv:1411.4038): 3x3 conv to a quarter of the channels + BN +
  ReLU + dropout 0.1, then 1x1 class logits. torchvision's auxiliary classifier is this
  head on the conv4 stage (layer3), named "aux".

Each returns logits bilinearly upsampled to `output_size` (half-pixel sampling, which is
torch's `align_corners=False`); BatchNorm epsilon 1e-5, torch's.
"""

from keras import layers

from keras_resnets.heads.segmentation import aspp, classify, conv_bn_relu

DEEPLAB_RATES = (12, 24, 36)
DEEPLAB_FILTERS = 256
DEEPLAB_DROPOUT = 0.5
FCN_DROPOUT = 0.1


def deeplab_v3(x, num_classes, output_size, name="deeplab"):
    x = aspp(x, DEEPLAB_FILTERS, DEEPLAB_RATES, f"{name}_aspp", dropout=DEEPLAB_DROPOUT)
    x = conv_bn_relu(x, DEEPLAB_FILTERS, 3, f"{name}_head")
    return classify(x, num_classes, output_size, name)


def fcn(x, num_classes, output_size, name="fcn"):
    x = conv_bn_relu(x, x.shape[-1] // 4, 3, f"{name}_head")
    x = layers.Dropout(FCN_DROPOUT, name=f"{name}_dropout")(x)
    return classify(x, num_classes, output_size, name)


HEADS = {"deeplabv3": deeplab_v3, "fcn": fcn}
