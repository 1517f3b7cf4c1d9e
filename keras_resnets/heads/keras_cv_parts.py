"""The keras-cv 0.9 parts of the detection head: the only module that imports keras_cv.

RetinaNet's anchors (`keras_cv.models.RetinaNet.default_anchor_generator`: sizes 32-512
on strides 8-128, scales 2^0, 2^(1/3), 2^(2/3), aspect ratios 1:2, 1:1, 2:1), its label
encoder (IoU >= .5 positive, < .4 background, in between ignored, and each box's best
anchor positive; box deltas in keras-cv's `center_yxhw` encoding scaled by
`BOX_VARIANCE`), its focal loss and smooth L1 loss.
keras-hub has maintained equivalents; swapping means changing this module only.

keras_cv imports TensorFlow, so it is imported on first use, not with this module: a
model loaded for inference (or built on a machine without TensorFlow) never needs it.
"""

import keras

BOX_FORMAT = "xyxy"  # [x1, y1, x2, y2] in pixels, everywhere in the detection code
BOX_VARIANCE = (0.1, 0.1, 0.2, 0.2)
ANCHORS_PER_POSITION = 9  # 3 scales x 3 aspect ratios
STRIDES = (8, 16, 32, 64, 128)  # P3-P7


def _keras_cv():
    import keras_cv

    return keras_cv


def anchor_generator():
    return _keras_cv().models.RetinaNet.default_anchor_generator(BOX_FORMAT)


def anchors_by_level(image_size):
    """The anchor boxes (A_level, 4) of each level P3-P7 of a square `image_size` image, in
    the head's output order."""
    levels = anchor_generator()(image_shape=(image_size, image_size, 3))
    return [keras.ops.convert_to_numpy(a).astype("float32") for a in levels.values()]


def label_encoder():
    """Ground truth (images, {"boxes", "classes"}) -> (box deltas (N, A, 4), anchor classes (N, A):
    the class index, -1 background, -2 ignored).

    Every box is also matched to its best anchor, however low their IoU (torchvision's
    `allow_low_quality_matches`): otherwise the boxes smaller than the smallest anchors
    (about a third of detection-mini's at 256 px) would never be trained on. keras-cv's
    encoder does not force these matches, so its matcher is replaced by one that does.
    """
    keras_cv = _keras_cv()
    encoder = keras_cv.models.retinanet.LabelEncoder(
        bounding_box_format=BOX_FORMAT, anchor_generator=anchor_generator(), box_variance=BOX_VARIANCE
    )
    encoder.box_matcher = keras_cv.layers.BoxMatcher(
        thresholds=[encoder.negative_threshold, encoder.positive_threshold],
        match_values=[-1, -2, 1],  # background, ignored, positive: the encoder's own values
        force_match_for_each_col=True,
    )
    return encoder


def focal_loss():
    """Per-anchor sigmoid focal loss (alpha .25, gamma 2) from logits, summed over classes."""
    return _keras_cv().losses.FocalLoss(from_logits=True, reduction=None)


def smooth_l1_loss():
    """Per-anchor smooth L1 (Huber with cutoff 1) of the box deltas, summed over coordinates."""
    return _keras_cv().losses.SmoothL1Loss(l1_cutoff=1.0, reduction=None)
