"""torchvision's FCOS (Tian et al. 2019) on a ResNet-50 backbone, layer for layer, in Keras.

    model = fcos_model(backbone, num_classes=91, name="fcos_resnet50_fpn")
    model.predict(images)   # {"boxes", "scores", "classes", "num_detections"}

Preprocess ("torch") -> backbone C3-C5 -> the feature pyramid of torchvision's RetinaNet v1
(P6 from the pyramid's P5, ReLU before P7) -> two towers shared over P3-P7, each four 3x3
convs (with bias) + GroupNorm(32) + ReLU: the class tower ends in one logit per class, the
box tower in four distances (ReLU) and a centre-ness logit. One anchor per position, its side
the level's stride (torchvision's AnchorGenerator with sizes 8-128 and ratio 1): the
distances are left, top, right and bottom of the box from the anchor's centre, in anchor
sides (torchvision's `BoxLinearCoder(normalize_by_size=True)`).

With `postprocess` (the default) the score of a class is sqrt(sigmoid(logit) x
sigmoid(centre-ness)), as torchvision's `postprocess_detections`, and `heads.nms.Detections`
keeps, per level, the best 1,000 above 0.2, then class-wise NMS at 0.6 and the best 100.
Without it the model returns the raw {"box_regression", "box_ctrness", "class_logits"}.
"""

import keras
from keras import ops

from keras_resnets.heads import retinanet, torchvision_retinanet
from keras_resnets.heads.inputs import image_features
from keras_resnets.heads.nms import Detections

ANCHOR_SIZES = ((8,), (16,), (32,), (64,), (128,))  # one per level: the strides of P3-P7
ASPECT_RATIOS = (1.0,)
GROUPS = 32
# torchvision's FCOS defaults (its `postprocess_detections` settings).
SETTINGS = dict(score_threshold=0.2, candidates=1000, iou_threshold=0.6, max_detections=100)
RAW_OUTPUTS = ("box_regression", "box_ctrness", "class_logits")


@keras.saving.register_keras_serializable(package="keras_resnets")
class CentredScores(keras.layers.Layer):
    """(class logits (N, A, C), centre-ness logits (N, A, 1)) -> sqrt(sigmoid x sigmoid)."""

    def __init__(self, **kwargs):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})

    def call(self, logits, ctrness):
        return ops.sqrt(ops.sigmoid(ops.cast(logits, "float32")) * ops.sigmoid(ops.cast(ctrness, "float32")))

    def compute_output_shape(self, logits_shape, ctrness_shape):
        return tuple(logits_shape)


def fcos_model(backbone, num_classes, name, postprocess=True, **detection_settings):
    """torchvision's FCOS on `backbone` (outputs {"P3", "P4", "P5"}: C3-C5); see the module
    docstring. `detection_settings` override `SETTINGS`. The backbone runs with
    `training=False`: torchvision keeps its BatchNorm frozen."""
    torchvision_retinanet.checked_size(backbone)
    inputs, features = image_features(backbone, "torch", pretrained=True)
    pyramid = retinanet.feature_pyramid(features, torchvision_retinanet.FILTERS, extra_from="P5",
                                        symmetric_padding=True)  # fmt: skip
    common = dict(kernel_initializer=torchvision_retinanet.HEAD_INITIALIZER, anchors_per_position=1)
    towers = dict(filters=torchvision_retinanet.FILTERS, depth=torchvision_retinanet.DEPTH, groups=GROUPS,
                  kernel_initializer=torchvision_retinanet.HEAD_INITIALIZER, norm_conv_bias=True)  # fmt: skip
    class_convs, box_convs = retinanet.tower_convs("class", **towers), retinanet.tower_convs("box", **towers)
    class_output = retinanet.per_anchor("class_output", num_classes, reshaped="class",
                                        bias_initializer=keras.initializers.Constant(retinanet.PRIOR_LOGIT), **common)
    box_output = retinanet.per_anchor("box_output", 4, reshaped="box", **common)
    ctrness_output = retinanet.per_anchor("box_ctrness_output", 1, reshaped="box_ctrness", **common)
    levels = list(zip(retinanet.LEVELS, pyramid))
    boxed = [(level, box_convs(p)) for level, p in levels]

    def joined(name, parts):
        # float32: the losses and the decoding need it under mixed precision.
        return keras.layers.Concatenate(axis=1, dtype="float32", name=name)(parts)

    outputs = {
        "box_regression": keras.layers.ReLU(dtype="float32", name="box_distances")(
            joined("box_regression_levels", [box_output(level, f) for level, f in boxed])
        ),
        "box_ctrness": joined("box_ctrness", [ctrness_output(level, f) for level, f in boxed]),
        "class_logits": joined("class_logits", [class_output(level, class_convs(p)) for level, p in levels]),
    }
    raw = keras.Model(inputs, outputs, name=name)
    return with_postprocess(raw, **detection_settings) if postprocess else raw


def with_postprocess(model, **detection_settings):
    """`model` (holding FCOS's raw output layers) ending with its detections; shares its layers."""
    height, width = model.input_shape[1:3]
    regression, ctrness, logits = (model.get_layer(n).output for n in ("box_distances", "box_ctrness", "class_logits"))
    boxes = torchvision_retinanet.AnchorBoxes((height, width), "linear", ANCHOR_SIZES, ASPECT_RATIOS,
                                              name="anchor_boxes")(regression)  # fmt: skip
    scores = CentredScores(name="class_scores")(logits, ctrness)
    sizes = torchvision_retinanet.level_sizes(height, width, ANCHOR_SIZES, ASPECT_RATIOS)
    detections = Detections(level_sizes=sizes, **{**SETTINGS, **detection_settings}, name="detections")
    return keras.Model(model.input, detections(boxes, scores), name=model.name)
