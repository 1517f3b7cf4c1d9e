"""torchvision's RetinaNet training targets and loss in keras.ops, to fine-tune its COCO detectors.

    loss = TorchvisionRetinaNetLoss(anchors, box_loss="giou")   # "l1" for v1, "giou" for v2
    model.compile(optimizer, loss=loss)   # y_pred: (N, A, 4 + classes) box deltas, then logits

The same targets and reductions as torchvision 0.29.1's `RetinaNet.compute_loss`, so that
fine-tuning continues the objective the weights were trained with (`tests/test_tv_loss.py`
compares the values):

- matching (`Matcher(0.5, 0.4, allow_low_quality_matches=True)`): each anchor takes the
  ground-truth box of highest IoU; IoU < 0.4 is background, 0.4 to 0.5 is ignored, and every
  anchor that is some box's best (ties included) keeps its match however low the IoU;
- box coding: `BoxCoder(weights=(1, 1, 1, 1))` deltas (dx, dy, dw, dh) against the anchor,
  decoded with dw and dh clamped at log(1000 / 16);
- per image: the sigmoid focal loss (alpha 0.25, gamma 2) summed over the anchors that are
  not ignored, plus the box loss summed over the matched anchors (L1 of the deltas, or the
  GIoU loss of the decoded boxes, which v2 trains with), each divided by the image's number
  of matched anchors (at least 1); then the mean over the images of the batch.

The model's own decoding for inference lives with the network; the coding here is the one
it must invert, so both import `decode` from this module.

Ground truth is the detection pipeline's (N, max_boxes, 5) [x1, y1, x2, y2, class] in input
pixels, rows with class -1 padding; an image with no boxes trains its anchors as background.
"""

import math

import keras
from keras import ops

DELTA_CLIP = math.log(1000.0 / 16)
FOREGROUND_IOU, BACKGROUND_IOU = 0.5, 0.4
BACKGROUND, IGNORED = -1, -2
FOCAL_ALPHA, FOCAL_GAMMA = 0.25, 2.0
GIOU_EPS = 1e-7


def _centers_and_sizes(boxes):
    size = boxes[..., 2:] - boxes[..., :2]
    return boxes[..., :2] + 0.5 * size, size


def encode(boxes, anchors):
    """(..., A, 4) deltas (dx, dy, dw, dh) that take each anchor to the box beside it."""
    center, size = _centers_and_sizes(boxes)
    anchor_center, anchor_size = _centers_and_sizes(anchors)
    return ops.concatenate([(center - anchor_center) / anchor_size, ops.log(size / anchor_size)], axis=-1)


def decode(deltas, anchors):
    """(..., A, 4) deltas -> [x1, y1, x2, y2] boxes, dw and dh clamped as torchvision does."""
    anchor_center, anchor_size = _centers_and_sizes(anchors)
    center = deltas[..., :2] * anchor_size + anchor_center
    half = 0.5 * ops.exp(ops.minimum(deltas[..., 2:], DELTA_CLIP)) * anchor_size
    return ops.concatenate([center - half, center + half], axis=-1)


def box_iou(boxes, anchors):
    """(N, M, 4) boxes and (A, 4) anchors -> (N, M, A) IoU."""
    boxes, anchors = boxes[:, :, None, :], anchors[None, None]
    low = ops.maximum(boxes[..., :2], anchors[..., :2])
    high = ops.minimum(boxes[..., 2:], anchors[..., 2:])
    inter = ops.prod(ops.maximum(high - low, 0.0), axis=-1)
    area = ops.prod(boxes[..., 2:] - boxes[..., :2], axis=-1)
    anchor_area = ops.prod(anchors[..., 2:] - anchors[..., :2], axis=-1)
    return inter / (area + anchor_area - inter)


def match(boxes, valid, anchors):
    """(N, A) index of each anchor's box, or BACKGROUND / IGNORED; `valid` (N, M) marks real boxes."""
    iou = ops.where(valid[:, :, None], box_iou(boxes, anchors), -1.0)
    best = ops.max(iou, axis=1)
    best_box = ops.cast(ops.argmax(iou, axis=1), "int32")
    matches = ops.where(best < BACKGROUND_IOU, BACKGROUND, ops.where(best < FOREGROUND_IOU, IGNORED, best_box))
    # Low-quality matches: the anchors that are some real box's best keep their best box.
    box_best = ops.max(iou, axis=2, keepdims=True)
    is_box_best = ops.any((iou == box_best) & valid[:, :, None], axis=1)
    return ops.where(is_box_best, best_box, matches)


def sigmoid_focal_loss(logits, targets):
    probability = ops.sigmoid(logits)
    cross_entropy = ops.binary_crossentropy(targets, logits, from_logits=True)
    p_t = probability * targets + (1 - probability) * (1 - targets)
    alpha_t = FOCAL_ALPHA * targets + (1 - FOCAL_ALPHA) * (1 - targets)
    return alpha_t * cross_entropy * (1 - p_t) ** FOCAL_GAMMA


def giou_loss(boxes, targets):
    """1 - generalised IoU of matching rows of two (..., 4) box sets."""
    low = ops.maximum(boxes[..., :2], targets[..., :2])
    high = ops.minimum(boxes[..., 2:], targets[..., 2:])
    inter = ops.prod(ops.maximum(high - low, 0.0), axis=-1)
    union = ops.prod(boxes[..., 2:] - boxes[..., :2], axis=-1) + ops.prod(targets[..., 2:] - targets[..., :2], axis=-1) - inter
    enclosing = ops.prod(
        ops.maximum(boxes[..., 2:], targets[..., 2:]) - ops.minimum(boxes[..., :2], targets[..., :2]), axis=-1
    )
    return 1 - (inter / (union + GIOU_EPS) - (enclosing - union) / (enclosing + GIOU_EPS))


BOX_LOSSES = ("l1", "giou")


class TorchvisionRetinaNetLoss(keras.losses.Loss):
    """See the module docstring. `anchors`: the model's (A, 4) anchors in its output order."""

    def __init__(self, anchors, box_loss="l1", name="torchvision_retinanet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}; got {box_loss!r}.")
        self.anchors = ops.convert_to_tensor(anchors, "float32")
        self.box_loss = box_loss

    def call(self, y_true, y_pred):
        boxes, classes = y_true[..., :4], ops.cast(y_true[..., 4], "int32")
        matches = match(boxes, classes >= 0, self.anchors)
        foreground = matches >= 0
        index = ops.maximum(matches, 0)
        matched_boxes = ops.take_along_axis(boxes, index[..., None], axis=1)
        matched_classes = ops.take_along_axis(classes, index, axis=1)
        num_classes = y_pred.shape[-1] - 4
        fg = ops.cast(foreground, "float32")
        onehot = ops.one_hot(matched_classes, num_classes) * fg[..., None]
        counted = ops.cast(matches != IGNORED, "float32")
        class_loss = ops.sum(ops.sum(sigmoid_focal_loss(y_pred[..., 4:], onehot), axis=-1) * counted, axis=1)
        deltas = y_pred[..., :4]
        if self.box_loss == "l1":
            # Background rows get the anchor itself as target, so their (masked) encoding is finite.
            targets = encode(ops.where(foreground[..., None], matched_boxes, self.anchors[None]), self.anchors)
            per_anchor = ops.sum(ops.abs(deltas - targets), axis=-1)
        else:
            per_anchor = giou_loss(decode(deltas, self.anchors), matched_boxes)
        box_loss = ops.sum(ops.where(foreground, per_anchor, 0.0), axis=1)
        normalizer = ops.maximum(ops.sum(fg, axis=1), 1.0)
        # Per image: Keras' mean over the batch is torchvision's, and a vector (not a scalar)
        # gets Keras' scaling under TensorFlow's data parallel (`core.replicas`).
        return (class_loss + box_loss) / normalizer

    def get_config(self):
        return {**super().get_config(), "anchors": ops.convert_to_numpy(self.anchors).tolist(), "box_loss": self.box_loss}
