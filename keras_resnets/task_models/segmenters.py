"""torchvision's COCO-VOC segmenters (DeepLabV3, FCN on ResNet-50/101) as Keras models; see SPECS.

    model = kr.create_model("deeplabv3_resnet50", weights="tv_coco_voc", input_shape=(520, 520, 3))
    logits = model(images)  # RGB [0, 255], (N, H, W, 3) -> (N, H, W, 21) VOC class logits

As torchvision builds them: a ResNet-B (torchvision's ResNet) dilated to output stride 8
(`replace_stride_with_dilation=[False, True, True]`, which `Spec.output_stride=8` lays out
the same way), the head (`heads.torchvision_segmentation`) on its last stage, logits
upsampled to the input size. `aux=True` adds torchvision's auxiliary FCN head on the conv4
stage (layer3) for training: the outputs are then `{"out": logits, "aux": logits}`. The
published files carry the auxiliary head; without it, its tensors are left unused.
"""

import dataclasses
import functools

import keras
from keras import layers

from keras_resnets import resnet_bd
from keras_resnets.core import builder
from keras_resnets.core.levels import level_features
from keras_resnets.heads import torchvision_segmentation as heads
from keras_resnets.heads.inputs import image_features
from keras_resnets.task_models.spec import TaskModelSpec

OUTPUT_STRIDE = 8
# The levels the heads read: the conv4 stage (torchvision's layer3, the auxiliary head's
# input) and the last one (layer4); with output stride 8 both are at stride 8.
AUX_LEVEL, OUT_LEVEL = "P4", "P5"
AUX_NAME = "aux"


def segmenter(head, spec, input_shape, num_classes, aux=False, frozen_backbone_bn=False):
    """`spec`'s model: Input (RGB [0, 255]) -> Preprocess -> dilated backbone -> `head`.

    aux: add the auxiliary FCN head (outputs become {"out", "aux"}).
    frozen_backbone_bn: call the backbone with `training=False`, so its BatchNorm keeps the
        pretrained statistics while fine-tuning (`heads.inputs.image_features`).
    """
    dilated = dataclasses.replace(spec.backbone, output_stride=OUTPUT_STRIDE)
    network = builder.build_model(dilated, include_top=False, weights=None, input_shape=input_shape)
    backbone = level_features(network, (AUX_LEVEL, OUT_LEVEL), name=network.name)
    inputs, features = image_features(backbone, spec.preprocessing, frozen_backbone_bn)
    size = tuple(input_shape[:2])
    outputs = {"out": _float32(heads.HEADS[head](features[OUT_LEVEL], num_classes, size), "out")}
    if aux:
        aux_logits = heads.fcn(features[AUX_LEVEL], num_classes, size, name=AUX_NAME)
        outputs[AUX_NAME] = _float32(aux_logits, AUX_NAME)
    return keras.Model(inputs, outputs if aux else outputs["out"], name=spec.name)


def _float32(logits, name):
    # float32 logits under mixed precision too: the loss and the argmax want them.
    return layers.Activation("linear", dtype="float32", name=name)(logits)


def _spec(name, head, backbone, class_layer, paper):
    return TaskModelSpec(
        name=name,
        task="segmentation",
        backbone=backbone,
        make=functools.partial(segmenter, head),
        layout="tv_segmentation",
        class_layers=(class_layer, f"{AUX_NAME}_logits"),
        classes=21,
        default_size=520,
        family=head,
        paper=paper,
        counted_options=(("aux", True),),  # torchvision's num_params count the aux head
    )


DEEPLAB_PAPER = "Chen et al. 2017, Rethinking Atrous Convolution for Semantic Image Segmentation (arXiv:1706.05587)"
FCN_PAPER = "Long et al. 2015, Fully Convolutional Networks for Semantic Segmentation (arXiv:1411.4038)"

SPECS = (
    _spec("deeplabv3_resnet50", "deeplabv3", resnet_bd.ResNet50B.spec, "deeplab_logits", DEEPLAB_PAPER),
    _spec("deeplabv3_resnet101", "deeplabv3", resnet_bd.ResNet101B.spec, "deeplab_logits", DEEPLAB_PAPER),
    _spec("fcn_resnet50", "fcn", resnet_bd.ResNet50B.spec, "fcn_logits", FCN_PAPER),
    _spec("fcn_resnet101", "fcn", resnet_bd.ResNet101B.spec, "fcn_logits", FCN_PAPER),
)
