"""torchvision's RetinaNet (v1 and v2) on a ResNet-50 backbone, layer for layer, in Keras.

    model = retinanet_model(backbone, num_classes=91, variant="v1")
    model.predict(images)   # {"boxes", "scores", "classes", "num_detections"}

The model takes RGB [0, 255] images (N, H, W, 3), H and W multiples of 32 (torchvision pads
its batch to them). Preprocess ("torch") -> backbone C3-C5 -> the feature pyramid of
`heads.retinanet` (P6/P7 by stride-2 convs padded as PyTorch pads) -> the class and box
towers shared over P3-P7 -> for each of the A anchors, 4 box deltas and one logit per class,
in torchvision's order (level, row, column, anchor). The variants (torchvision's builders):

    v1   P6 from the pyramid's P5; towers: conv (with bias) + ReLU
    v2   P6 from C5; towers: conv (no bias) + GroupNorm(32) + ReLU

With `postprocess` (the default), the deltas are decoded against the anchors
(`AnchorBoxes`) and the sigmoid scores go through `heads.nms.Detections`, as torchvision's
`postprocess_detections`: per level the top `candidates` scores above `score_threshold`,
class-wise NMS at `iou_threshold`, the best `max_detections`. Without it the model returns
the raw {"box_deltas": (N, A, 4), "class_logits": (N, A, classes)}, what training needs.

torchvision resizes images so that the shorter side is 800 (the longer at most 1333) before
the network; this model takes the pixels it is given, and its boxes are in those pixels.
"""

import keras
import numpy as np
from keras import ops

from keras_resnets.heads import retinanet
from keras_resnets.heads import torchvision_retinanet_loss as box_coding
from keras_resnets.heads.inputs import image_features
from keras_resnets.heads.nms import Detections

VARIANTS = {
    "v1": dict(extra_from="P5", groups=None),
    "v2": dict(extra_from="C5", groups=32),
}
FILTERS, DEPTH = 256, 4
# torchvision's _default_anchorgen: three sizes an octave-third apart per level, three ratios.
ANCHOR_SIZES = tuple((x, int(x * 2 ** (1 / 3)), int(x * 2 ** (2 / 3))) for x in (32, 64, 128, 256, 512))
ASPECT_RATIOS = (0.5, 1.0, 2.0)
# torchvision's head initialisation: N(0, 0.01) kernels (the class bias at the prior).
HEAD_INITIALIZER = keras.initializers.RandomNormal(stddev=0.01)


def level_shapes(height, width):
    """(rows, columns) of P3..P7 for an input of `height` x `width`: every stride-2 step of
    the backbone and of P6/P7 (kernel 3, padding 1) rounds up."""
    shapes, h, w = [], height, width
    for step in range(7):
        h, w = -(-h // 2), -(-w // 2)
        if step >= 2:
            shapes.append((h, w))
    return shapes


def cell_anchors(sizes, ratios=ASPECT_RATIOS):
    """torchvision's zero-centred anchors of one position, ratio-major then size, rounded
    half to even, in float32 as it computes them."""
    sizes, ratios = np.asarray(sizes, "float32"), np.asarray(ratios, "float32")
    h_ratios = np.sqrt(ratios)
    w_ratios = np.float32(1) / h_ratios
    ws = (w_ratios[:, None] * sizes[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * sizes[None, :]).reshape(-1)
    return np.round(np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2))


def anchors(height, width, sizes=ANCHOR_SIZES, ratios=ASPECT_RATIOS):
    """(A, 4) [x1, y1, x2, y2] anchors of every level, in the head's order: level, row,
    column, then the position's anchors (`sizes` per level, x `ratios`). The stride is the
    input size // the level's size, as torchvision's AnchorGenerator computes it."""
    out = []
    for (rows, columns), level_sizes_ in zip(level_shapes(height, width), sizes):
        ys = np.arange(rows, dtype="float32") * (height // rows)
        xs = np.arange(columns, dtype="float32") * (width // columns)
        shift_y, shift_x = np.meshgrid(ys, xs, indexing="ij")
        shifts = np.stack([shift_x, shift_y, shift_x, shift_y], axis=-1).reshape(-1, 1, 4)
        out.append((shifts + cell_anchors(level_sizes_, ratios)[None]).reshape(-1, 4))
    return np.concatenate(out).astype("float32")


def level_sizes(height, width, sizes=ANCHOR_SIZES, ratios=ASPECT_RATIOS):
    """Anchors per level (what the per-level candidate selection splits by)."""
    per_position = len(ratios) * len(sizes[0])
    return [rows * columns * per_position for rows, columns in level_shapes(height, width)]


CODINGS = ("deltas", "linear")


@keras.saving.register_keras_serializable(package="keras_resnets")
class AnchorBoxes(keras.layers.Layer):
    """(N, A, 4) box codes -> (N, A, 4) [x1, y1, x2, y2] input pixels, clipped to the image.

    `coding` "deltas": torchvision's BoxCoder(weights=(1, 1, 1, 1)) (dx, dy, dw, dh), dw and
    dh clipped at log(1000 / 16) (RetinaNet); "linear": its BoxLinearCoder with
    normalize_by_size, the distances (left, top, right, bottom) from the anchor's centre in
    anchor sizes (FCOS). The anchors are a constant computed from `image_size` (height,
    width), `sizes` and `ratios` (torchvision's AnchorGenerator), not a weight: nothing to
    convert, nothing to save."""

    def __init__(self, image_size, coding="deltas", sizes=ANCHOR_SIZES, ratios=ASPECT_RATIOS, **kwargs):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        if coding not in CODINGS:
            raise ValueError(f"coding is one of {CODINGS}; got {coding!r}.")
        self.image_size = tuple(int(side) for side in image_size)
        self.coding, self.sizes, self.ratios = coding, tuple(map(tuple, sizes)), tuple(ratios)
        self._anchors = anchors(*self.image_size, self.sizes, self.ratios)

    def call(self, codes):
        codes, reference = ops.cast(codes, "float32"), ops.convert_to_tensor(self._anchors)
        if self.coding == "deltas":
            boxes = box_coding.decode(codes, reference)
        else:
            center = 0.5 * (reference[:, :2] + reference[:, 2:])
            size = ops.tile(reference[:, 2:] - reference[:, :2], (1, 2))
            distances = codes * size
            boxes = ops.concatenate([center - distances[..., :2], center + distances[..., 2:]], axis=-1)
        height, width = (float(side) for side in self.image_size)
        return ops.clip(boxes, 0.0, ops.convert_to_tensor([width, height, width, height], "float32"))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "coding": self.coding,
                "sizes": self.sizes, "ratios": self.ratios}  # fmt: skip


def checked_size(backbone):
    """(height, width) of `backbone`'s input: fixed multiples of 32, as torchvision pads to."""
    height, width = backbone.input_shape[1:3]
    if height is None or width is None or height % retinanet.SIZE_MULTIPLE or width % retinanet.SIZE_MULTIPLE:
        raise ValueError(
            f"The input's height and width must be fixed multiples of {retinanet.SIZE_MULTIPLE} "
            f"(torchvision pads its batch to them); got {backbone.input_shape[1:3]}."
        )
    return height, width


def retinanet_model(
    backbone,
    num_classes,
    variant,
    name,
    postprocess=True,
    score_threshold=0.05,
    iou_threshold=0.5,
    candidates=1000,
    max_detections=300,
):
    """torchvision's RetinaNet `variant` ("v1"/"v2") on `backbone`, a model whose outputs are
    {"P3", "P4", "P5"} (C3-C5); see the module docstring. The backbone runs with
    `training=False`: torchvision's detectors keep its BatchNorm frozen."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown RetinaNet variant {variant!r}; known: {sorted(VARIANTS)}.")
    checked_size(backbone)
    extra_from, groups = VARIANTS[variant]["extra_from"], VARIANTS[variant]["groups"]
    inputs, features = image_features(backbone, "torch", pretrained=True)
    pyramid = retinanet.feature_pyramid(features, FILTERS, extra_from=extra_from, symmetric_padding=True)
    towers = dict(filters=FILTERS, depth=DEPTH, groups=groups, kernel_initializer=HEAD_INITIALIZER)
    box_tower = retinanet.tower("box", 4, **towers)
    class_tower = retinanet.tower(
        "class", num_classes, bias_initializer=keras.initializers.Constant(retinanet.PRIOR_LOGIT), **towers
    )
    levels = list(zip(retinanet.LEVELS, pyramid))
    # float32: the losses and the decoding need it under mixed precision.
    deltas = keras.layers.Concatenate(axis=1, dtype="float32", name="box_deltas")(
        [box_tower(level, p) for level, p in levels]
    )
    logits = keras.layers.Concatenate(axis=1, dtype="float32", name="class_logits")(
        [class_tower(level, p) for level, p in levels]
    )
    raw = keras.Model(inputs, {"box_deltas": deltas, "class_logits": logits}, name=name)
    if not postprocess:
        return raw
    settings = dict(score_threshold=score_threshold, candidates=candidates, iou_threshold=iou_threshold)
    return with_postprocess(raw, max_detections=max_detections, **settings)


def with_postprocess(model, **detection_settings):
    """`model` (any model holding this RetinaNet's `box_deltas` and `class_logits` layers: the
    raw model, or the training model that concatenates them) ending with its detections:
    the deltas decoded against the anchors, the sigmoid scores, `heads.nms.Detections`
    (`detection_settings` override its defaults: torchvision's). Shares `model`'s layers."""
    height, width = model.input_shape[1:3]
    deltas, logits = (model.get_layer(name).output for name in ("box_deltas", "class_logits"))
    boxes = AnchorBoxes((height, width), name="anchor_boxes")(deltas)
    scores = keras.layers.Activation("sigmoid", dtype="float32", name="class_scores")(logits)
    detections = Detections(level_sizes=level_sizes(height, width), **detection_settings, name="detections")
    return keras.Model(model.input, detections(boxes, scores), name=model.name)
