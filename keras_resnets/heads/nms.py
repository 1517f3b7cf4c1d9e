"""Final detections inside the graph: per-level top candidates, then class-wise greedy NMS.

    detections = Detections(level_sizes=(36864, 9216, 2304, 576, 144))(boxes, scores)
    # {"boxes": (N, K, 4), "scores": (N, K), "classes": (N, K), "num_detections": (N,)}

The selection is torchvision RetinaNet's `postprocess_detections`: in each pyramid level the
(anchor, class) pairs scoring above `score_threshold` are candidates and the best `candidates`
of them stay (`scores.flatten()`, threshold, top-k); over all levels' candidates a greedy NMS
per class keeps a box unless a better box of its class overlaps it by IoU > `iou_threshold`
(`torchvision.ops.batched_nms`); the best `max_detections` are returned, best first.

The NMS is a fixed loop of K = `max_detections` picks over the whole batch (take the best
remaining candidate, record it, drop it and the same-class candidates it overlaps), in
keras.ops only, so it traces under tf.function, jax.jit and torch, and converts to TFLite
(a WHILE op) and ONNX. With `unroll=True` the K picks are written out one after the other
instead: the same operations and results without a loop, for runtimes that take no control
flow (MediaPipe's ObjectDetector takes a TFLite file of one subgraph; a WHILE op brings
two more). Rows past `num_detections` are padding: boxes 0, score 0, class -1.
"""

import keras
from keras import ops

SCORE_THRESHOLD = 0.05
GONE = -1.0  # the score of a candidate that is below the threshold, picked or suppressed (scores are >= 0)
PAD_CLASS = -1
# The layers that decode and select in every detector here (`retinanet.with_decoding`,
# `torchvision_retinanet` and `torchvision_fcos`' `with_postprocess`): full-int8 files keep
# them float32 (`export.quantization`), as TFLite's own detection post-processing stays float.
POSTPROCESSING_LAYERS = ("decode", "anchor_boxes", "class_scores", "detections")


def overlaps(box, boxes, iou_threshold):
    """Whether each image's box (N, 1, 4) overlaps its candidates (N, M, 4) by IoU >
    `iou_threshold` -> (N, M) bool; torchvision's IoU (inter / (area1 + area2 - inter)),
    compared as inter > threshold * union: the same test without a division, which a
    full-int8 TFLite file cannot run where a union quantizes to zero (LiteRT's DIV kernel
    stops the file there: measured on a trained detector's int8 export)."""
    low = ops.maximum(box[..., :2], boxes[..., :2])
    high = ops.minimum(box[..., 2:], boxes[..., 2:])
    size = ops.maximum(high - low, 0.0)
    inter = size[..., 0] * size[..., 1]
    area = (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])
    areas = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return inter > iou_threshold * (area + areas - inter)


def gather_rows(values, indices):
    """values (N, A, D) at indices (N, k) -> (N, k, D)."""
    indices = ops.broadcast_to(ops.expand_dims(indices, -1), (*ops.shape(indices), values.shape[-1]))
    return ops.take_along_axis(values, indices, axis=1)


@keras.saving.register_keras_serializable(package="keras_resnets")
class Detections(keras.layers.Layer):
    """Decoded `boxes` (N, A, 4) [x1, y1, x2, y2] and per-class probabilities `scores`
    (N, A, C) -> {"boxes": (N, K, 4) float32, "scores": (N, K) float32, "classes": (N, K)
    int32 (the score column), "num_detections": (N,) int32}, K = `max_detections`, best
    first; rows past `num_detections` hold boxes 0, score 0 and class -1.

    `level_sizes`: the anchors of each pyramid level, in the order of the A rows (None:
    one level); the other settings (and `unroll`) are described in the module docstring.
    """

    def __init__(self, level_sizes=None, score_threshold=SCORE_THRESHOLD, candidates=1000, iou_threshold=0.5,
                 max_detections=300, unroll=False, **kwargs):  # fmt: skip
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        if level_sizes is not None and (not level_sizes or min(level_sizes) < 1):
            raise ValueError(f"level_sizes must be positive anchor counts per level (or None); got {level_sizes}.")
        if candidates < 1 or max_detections < 1:
            raise ValueError(
                f"candidates and max_detections must be at least 1; got {candidates} and {max_detections}."
            )
        if score_threshold < 0:
            raise ValueError(f"score_threshold is a probability (>= 0); got {score_threshold}.")
        self.level_sizes = None if level_sizes is None else tuple(int(size) for size in level_sizes)
        self.score_threshold, self.iou_threshold = float(score_threshold), float(iou_threshold)
        self.candidates, self.max_detections = int(candidates), int(max_detections)
        self.unroll = bool(unroll)

    @property
    def class_count(self):
        """How many classes it scores (its `scores` input's last axis, once called)."""
        return int(self.input[1].shape[-1])

    def levels(self, anchors):
        """(start, stop) of each level's rows among `anchors`."""
        sizes = self.level_sizes or (anchors,)
        if sum(sizes) != anchors:
            raise ValueError(f"level_sizes {sizes} sum to {sum(sizes)}, but the inputs have {anchors} anchors.")
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [(start, start + size) for start, size in zip(starts, sizes)]

    def select_candidates(self, boxes, scores):
        """Each level's best `candidates` (anchor, class) pairs above the threshold, all levels
        together: boxes (N, M, 4), scores (N, M) (GONE below the threshold), classes (N, M)."""
        num_classes = scores.shape[-1]
        picked = []
        for start, stop in self.levels(boxes.shape[1]):
            flat = ops.reshape(scores[:, start:stop], (-1, (stop - start) * num_classes))
            flat = ops.where(flat > self.score_threshold, flat, GONE)
            best, index = ops.top_k(flat, min(self.candidates, (stop - start) * num_classes))
            index = ops.cast(index, "int32")
            picked.append((gather_rows(boxes[:, start:stop], index // num_classes), best, index % num_classes))
        return [ops.concatenate(parts, axis=1) for parts in zip(*picked)]

    def call(self, boxes, scores):
        boxes, scores = ops.cast(boxes, "float32"), ops.cast(scores, "float32")
        candidate_boxes, candidate_scores, candidate_classes = self.select_candidates(boxes, scores)
        count = candidate_scores.shape[1]
        positions = ops.arange(count, dtype="int32")
        slots = ops.arange(self.max_detections, dtype="int32")

        def pick(i, state):
            remaining, chosen = state
            # the first position of the best score: argmax, without the bit operations that
            # keras' TF argmax uses and TFLite lacks
            best_score = ops.max(remaining, axis=1, keepdims=True)
            best = ops.min(ops.where(remaining == best_score, positions[None], count), axis=1)
            found = best_score[:, 0] > GONE
            chosen = ops.where(slots[None] == i, ops.where(found, best, -1)[:, None], chosen)
            best_box = gather_rows(candidate_boxes, best[:, None])
            best_class = ops.take_along_axis(candidate_classes, best[:, None], axis=1)
            overlapping = overlaps(best_box, candidate_boxes, self.iou_threshold)
            suppressed = (overlapping & (candidate_classes == best_class)) | (positions[None] == best[:, None])
            return ops.where(suppressed, GONE, remaining), chosen

        no_picks = ops.full((ops.shape(scores)[0], self.max_detections), -1, dtype="int32")
        state = (candidate_scores, no_picks)
        if self.unroll:
            for i in range(self.max_detections):
                state = pick(i, state)
        else:
            state = ops.fori_loop(0, self.max_detections, pick, state)
        _, chosen = state
        kept = chosen >= 0
        index = ops.maximum(chosen, 0)
        return {
            "boxes": ops.where(kept[..., None], gather_rows(candidate_boxes, index), 0.0),
            "scores": ops.where(kept, ops.take_along_axis(candidate_scores, index, axis=1), 0.0),
            "classes": ops.cast(
                ops.where(kept, ops.take_along_axis(candidate_classes, index, axis=1), PAD_CLASS), "int32"
            ),
            "num_detections": ops.cast(ops.sum(ops.cast(kept, "int32"), axis=1), "int32"),
        }

    def compute_output_spec(self, boxes, scores):
        batch, k = boxes.shape[0], self.max_detections
        return {
            "boxes": keras.KerasTensor((batch, k, 4), "float32"),
            "scores": keras.KerasTensor((batch, k), "float32"),
            "classes": keras.KerasTensor((batch, k), "int32"),
            "num_detections": keras.KerasTensor((batch,), "int32"),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "level_sizes": self.level_sizes,
            "score_threshold": self.score_threshold,
            "candidates": self.candidates,
            "iou_threshold": self.iou_threshold,
            "max_detections": self.max_detections,
            "unroll": self.unroll,
        }


def final_detections(model):
    """The `Detections` layer that `model` ends with (a detector as it is evaluated and
    exported: its four outputs), or None."""
    layer = model.layers[-1]
    return layer if isinstance(layer, Detections) and len(model.outputs) == 4 else None
