"""RetinaNet (Lin et al. 2017) on the feature pyramid of any keras_resnets backbone.

    model = retinanet(kr.features("resnet50", weights="imagenet", input_shape=(512, 512, 3)),
                      num_classes=80, preprocessing="caffe", pretrained=True)
    model.compile(optimizer, loss=RetinaNetLoss(image_size=512))
    detector = with_decoding(model)     # {"boxes", "scores", "classes", "num_detections"}

The model takes RGB [0, 255] images (N, S, S, 3): Preprocess -> backbone taps P3-P5 ->
feature pyramid P3-P7 (1x1 laterals, nearest top-down sums, 3x3 smoothing; P6 a stride-2
3x3 conv of C5, P7 one of relu(P6)) -> a class tower and a box tower (`depth` 3x3 convs
with ReLU, shared by all levels) -> one float32 tensor (N, A, 4 + classes): for each of the
A anchors, 4 box deltas then one logit per class. The class logits start at the prior
probability .01 (the paper's initialisation, so that the focal loss is not swamped by the
background at the first steps).

`with_decoding` puts the decoding layer here and `nms.Detections` on top: what is
predicted, evaluated and exported are the final detections (at most `MAX_DETECTIONS` per
image, best first; `num_detections` says how many rows of each image are real).

The network is plain Keras layers, the decoding layer and `Detections`, so a saved model
loads without keras-cv and runs on every backend. Anchors, label encoding and losses come from
keras-cv (`keras_cv_parts`); decoding is ours, in keras.ops, because it belongs to the
exported graph (the anchors travel inside it as a weight); a test decodes keras-cv's
encoding back to the boxes it encoded.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_resnets.core.replicas import per_image_share
from keras_resnets.heads import keras_cv_parts as parts
from keras_resnets.heads.inputs import image_features
from keras_resnets.heads.nms import Detections

PRIOR_PROBABILITY = 0.01
MAX_DETECTIONS = 100  # per image: COCO's evaluation counts 100 per image and class
PRIOR_LOGIT = -math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY)
SIZE_MULTIPLE = 32  # the stride of P5: each top-down step doubles a map to the next one's size
LEVELS = ("P3", "P4", "P5", "P6", "P7")
BACKBONE_LEVELS = LEVELS[:3]  # the backbone maps the pyramid starts from


def feature_pyramid(features, filters, extra_from="C5", symmetric_padding=False):
    """{"P3", "P4", "P5"} backbone maps -> [P3, ..., P7], each with `filters` channels.

    P6 is a stride-2 3x3 conv of `extra_from`: "C5" (the backbone's last map) or "P5" (the
    pyramid's, as torchvision's RetinaNet v1). `symmetric_padding` pads those convs by one
    pixel on every side, as PyTorch does; Keras' "same" pads even sizes only at the end.
    """
    laterals = {
        level: keras.layers.Conv2D(filters, 1, name=f"fpn_lateral_{level}")(features[level])
        for level in ("P3", "P4", "P5")
    }
    merged = {"P5": laterals["P5"]}
    for level, above in (("P4", "P5"), ("P3", "P4")):
        upsampled = keras.layers.UpSampling2D(2, name=f"fpn_upsample_{above}")(merged[above])
        merged[level] = keras.layers.Add(name=f"fpn_merge_{level}")([laterals[level], upsampled])
    pyramid = [
        keras.layers.Conv2D(filters, 3, padding="same", name=f"fpn_{level}")(merged[level])
        for level in ("P3", "P4", "P5")
    ]
    sources = {"C5": features["P5"], "P5": pyramid[-1]}
    if extra_from not in sources:
        raise ValueError(f"P6 is made from 'C5' or 'P5'; got extra_from={extra_from!r}.")
    p6 = _downsample(filters, "fpn_P6", symmetric_padding)(sources[extra_from])
    p7 = _downsample(filters, "fpn_P7", symmetric_padding)(keras.layers.ReLU(name="fpn_P6_relu")(p6))
    return [*pyramid, p6, p7]


def _downsample(filters, name, symmetric_padding):
    if not symmetric_padding:
        return keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=name)
    pad = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")
    conv = keras.layers.Conv2D(filters, 3, strides=2, name=name)
    return lambda x: conv(pad(x))


def tower_convs(name, filters, depth, groups=None, kernel_initializer="glorot_uniform", norm_conv_bias=False):
    """`depth` 3x3 convs with ReLU, shared over the levels: feature -> feature. With `groups`,
    a GroupNorm of that many groups before each ReLU, its conv biased only with
    `norm_conv_bias` (torchvision's RetinaNet v2 has none, its FCOS has them)."""
    layers = []
    for i in range(depth):
        if groups is None:
            layers.append(keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", kernel_initializer=kernel_initializer,
                name=f"{name}_conv{i + 1}",
            ))  # fmt: skip
            continue
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=norm_conv_bias,
                                kernel_initializer=kernel_initializer, name=f"{name}_conv{i + 1}"),
            # PyTorch's GroupNorm epsilon (Keras' default is 1e-3).
            keras.layers.GroupNormalization(groups, epsilon=1e-5, name=f"{name}_norm{i + 1}"),
            keras.layers.ReLU(name=f"{name}_relu{i + 1}"),
        ]  # fmt: skip

    def apply(feature):
        for layer in layers:
            feature = layer(feature)
        return feature

    return apply


def per_anchor(name, outputs_per_anchor, anchors_per_position=parts.ANCHORS_PER_POSITION, bias_initializer="zeros",
               kernel_initializer="glorot_uniform", reshaped=None):  # fmt: skip
    """A 3x3 conv `name` shared over the levels, reshaped (N, H, W, anchors * k) -> (N, H * W
    * anchors, k), the anchor generator's order, as `<reshaped>_<level>_anchors` (default:
    `name`). Called as (level, feature)."""
    reshaped = reshaped or name
    final = keras.layers.Conv2D(
        anchors_per_position * outputs_per_anchor, 3, padding="same", kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer, name=name,
    )  # fmt: skip
    return lambda level, feature: keras.layers.Reshape((-1, outputs_per_anchor), name=f"{reshaped}_{level}_anchors")(
        final(feature)
    )


def tower(name, outputs_per_anchor, filters, depth, bias_initializer="zeros", groups=None,
          kernel_initializer="glorot_uniform"):  # fmt: skip
    """`tower_convs`, then the per-anchor outputs `<name>_output`: (level, feature) -> (N, A, k)."""
    convs = tower_convs(name, filters, depth, groups, kernel_initializer)
    output = per_anchor(f"{name}_output", outputs_per_anchor, bias_initializer=bias_initializer,
                        kernel_initializer=kernel_initializer, reshaped=name)  # fmt: skip
    return lambda level, feature: output(level, convs(feature))


def retinanet(backbone, num_classes, preprocessing, pretrained, filters=256, depth=4):
    """The detector on `backbone`, a pyramid model with outputs {"P3", "P4", "P5"}
    (`keras_resnets.features`); see the module docstring. A pretrained backbone is called
    with `training=False`, so its BatchNorm layers keep their statistics, as in the paper."""
    size = backbone.input_shape[1]
    if size % SIZE_MULTIPLE:
        raise ValueError(f"RetinaNet's input side is a multiple of {SIZE_MULTIPLE}; got {size}.")
    inputs, features = image_features(backbone, preprocessing, pretrained)
    pyramid = feature_pyramid(features, filters)
    boxes = tower("box", 4, filters, depth)
    classes = tower("class", num_classes, filters, depth, keras.initializers.Constant(PRIOR_LOGIT))
    per_level = [(boxes(level, p), classes(level, p)) for level, p in zip(LEVELS, pyramid)]
    outputs = keras.layers.Concatenate(axis=1, name="anchor_boxes")([b for b, _ in per_level])
    logits = keras.layers.Concatenate(axis=1, name="anchor_logits")([c for _, c in per_level])
    # float32: the loss and the decoding need it under mixed precision.
    outputs = keras.layers.Concatenate(axis=-1, dtype="float32", name="predictions")([outputs, logits])
    return keras.Model(inputs, outputs, name=f"{backbone.name}_retinanet")


class RetinaNetLoss(keras.losses.Loss):
    """The paper's loss on (N, max_boxes, 5) ground truth [x1, y1, x2, y2, class] in pixels
    (rows with class -1 are padding) and the model's (N, A, 4 + classes) predictions.

    Focal loss over every anchor that is not ignored, plus `box_weight` x smooth L1 over
    the positive anchors, both divided by the number of positive anchors in the batch
    (the global batch under data parallel: `core.replicas`).
    """

    def __init__(self, image_size, box_weight=1.0, name="retinanet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_size, self.box_weight = image_size, box_weight
        self.encoder = parts.label_encoder()
        self.focal, self.smooth_l1 = parts.focal_loss(), parts.smooth_l1_loss()

    def call(self, y_true, y_pred):
        shape_only = ops.zeros((1, self.image_size, self.image_size, 1))  # the encoder reads its shape
        # keras-cv 0.9's encoder gathers one row past the boxes of an image that fills every
        # row of y_true (TensorFlow fails, JAX clamps the index silently): keep one row free.
        y_true = ops.pad(y_true, [[0, 0], [0, 1], [0, 0]], constant_values=-1.0)
        targets, anchor_classes = self.encoder(shape_only, {"boxes": y_true[..., :4], "classes": y_true[..., 4]})
        positive = ops.cast(anchor_classes >= 0, "float32")
        counted = ops.cast(anchor_classes != -2, "float32")
        num_classes = y_pred.shape[-1] - 4
        onehot = ops.one_hot(ops.cast(ops.maximum(anchor_classes, 0), "int32"), num_classes)
        onehot = onehot * ops.expand_dims(positive, -1)
        class_loss = ops.sum(self.focal(onehot, y_pred[..., 4:]) * counted, axis=1)
        box_loss = ops.sum(self.smooth_l1(targets, y_pred[..., :4]) * positive, axis=1)
        return per_image_share(class_loss + self.box_weight * box_loss, ops.sum(positive))


@keras.saving.register_keras_serializable(package="keras_resnets")
class DecodeDetections(keras.layers.Layer):
    """(N, A, 4 + classes) predictions -> {"boxes": (N, A, 4) [x1, y1, x2, y2] in input
    pixels, clipped to the image; "scores": (N, A, classes) sigmoid probabilities}.

    The anchors are a non-trainable weight: set from `anchors` when the layer is made,
    read back from the file when a saved model is loaded (which needs no keras-cv).
    """

    def __init__(self, num_anchors, image_size, anchors=None, **kwargs):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        self.num_anchors, self.image_size = num_anchors, image_size
        self.anchors = self.add_weight(shape=(num_anchors, 4), initializer="zeros", trainable=False, name="anchors")
        if anchors is not None:
            self.anchors.assign(anchors)

    def call(self, predictions):
        deltas = predictions[..., :4] * ops.convert_to_tensor(parts.BOX_VARIANCE, "float32")
        anchor_min, anchor_max = self.anchors[:, :2], self.anchors[:, 2:]
        anchor_size = anchor_max - anchor_min
        anchor_center = (anchor_min + anchor_max) / 2
        # keras-cv encodes (dy, dx, dh, dw) in its "center_yxhw" format; anchors are xyxy.
        center = anchor_center + ops.flip(deltas[..., :2], axis=-1) * anchor_size
        size = ops.exp(ops.flip(deltas[..., 2:], axis=-1)) * anchor_size
        boxes = ops.concatenate([center - size / 2, center + size / 2], axis=-1)
        return {
            "boxes": ops.clip(boxes, 0.0, float(self.image_size)),
            "scores": ops.sigmoid(predictions[..., 4:]),
        }

    def compute_output_spec(self, predictions):
        batch, anchors, width = predictions.shape
        return {
            "boxes": keras.KerasTensor((batch, anchors, 4), "float32"),
            "scores": keras.KerasTensor((batch, anchors, width - 4), "float32"),
        }

    def get_config(self):
        return {**super().get_config(), "num_anchors": self.num_anchors, "image_size": self.image_size}


def with_decoding(model, **detection_settings):
    """`model` (a `retinanet`) ending with its final detections: `nms.Detections`
    ({"boxes", "scores", "classes", "num_detections"}) over the decoded boxes and class
    probabilities, per pyramid level as the anchors are; `detection_settings` override
    `Detections`' (score_threshold, candidates, iou_threshold, max_detections:
    `MAX_DETECTIONS` here). What is predicted, evaluated and exported."""
    size = model.input_shape[1]
    levels = parts.anchors_by_level(size)
    anchors = np.concatenate(levels)
    decoded = DecodeDetections(len(anchors), size, anchors, name="decode")(model.output)
    settings = {"max_detections": MAX_DETECTIONS, **detection_settings}
    detections = Detections([len(level) for level in levels], **settings, name="detections")
    return keras.Model(model.input, detections(decoded["boxes"], decoded["scores"]), name=f"{model.name}_detector")
