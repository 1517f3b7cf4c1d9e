"""How well a detector does, in numbers and pictures: COCO mAP per split (exact,
`keras_resnets.metrics.coco_map`), per-class AP, the printed summary, and predicted boxes
with class names and scores drawn over images beside the ground truth."""

import logging
from collections import defaultdict

import keras
import numpy as np

from keras_resnets.heads.nms import SCORE_THRESHOLD
from keras_resnets.metrics import coco_map, matching
from keras_resnets.tasks import DETECTION_OUTPUT_ORDER as OUTPUTS
from keras_resnets.tasks import EPOCH_PICTURE
from keras_resnets.tasks.letterbox import boxes_to_original, content_size
from keras_resnets.training.plots import pyplot

log = logging.getLogger(__name__)

SHOWN_SCORE = 0.3  # pictures draw the detections scoring at least this
SHOWN_MAX = 15  # ... and at most this many per image
TRUTH_COLOUR = "#00e000"


def per_image(outputs):
    """(boxes, scores, classes) of each image of a batch of `Detections` outputs (by name),
    without the padding rows (`metrics.matching.per_image`)."""
    return matching.per_image([outputs[name] for name in OUTPUTS])


def to_coco(outputs, image_ids, sizes, image_size, categories):
    """COCO result dicts of a batch of detections, in each image's own pixels (the inputs
    are its letterbox)."""
    results = []
    for (boxes, scores, classes), image_id, (height, width) in zip(per_image(outputs), image_ids, sizes):
        scaled = boxes_to_original(boxes, height, width, image_size)
        for (x1, y1, x2, y2), score, cls in zip(scaled.tolist(), scores.tolist(), classes.tolist()):
            results.append({"image_id": int(image_id), "category_id": categories[cls]["id"],
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})  # fmt: skip
    return results


def detect(decoder, batches, image_size, categories):
    """COCO result dicts of every image of `batches` (images, image ids, sizes)."""
    results = []
    for images, image_ids, sizes in batches.as_numpy_iterator():  # numpy: every backend takes it
        results += to_coco(decoder.predict_on_batch(images), image_ids, sizes, image_size, categories)
    return results


def split_metrics(result, images):
    return {"map": result["map"], "map50": result["map50"], "map75": result["map75"], "images": int(images)}


def format_summary(splits, per_class, shown=15):
    def cell(value):
        return "   n/a" if value is None else f"{value:>6.1%}"

    lines = ["", f"{'split':<8}{'images':>8}{'mAP':>8}{'mAP@.5':>8}{'mAP@.75':>9}"]
    for name, m in splits.items():
        lines.append(f"{name:<8}{m['images']:>8}  {cell(m['map'])}  {cell(m['map50'])}   {cell(m['map75'])}")
    present = sorted(((n, ap) for n, ap in per_class.items() if ap is not None), key=lambda item: -item[1])
    width = max((len(name) for name, _ in present[:shown]), default=5) + 2
    lines += ["", f"test AP (mAP@[.5:.95]) of the best {min(shown, len(present))} of {len(present)} classes present "
              "(all in metrics.json)"]  # fmt: skip
    lines += [f"{name:<{width}}{ap:>7.1%}" for name, ap in present[:shown]]
    return "\n".join(lines)


# ------------------------------------------------------------------------ export


SAME_BOX_IOU = 0.95
SAME_CORNERS_PX = 0.5


def export_check(outputs, reference, bounds, quantize, labels=None):
    """An exported detector's final detections (`OUTPUTS`, from its own in-graph NMS)
    against the Keras model's, image by image and both ways: each detection scoring clear of
    the score threshold (by more than the tolerance; .05 for quantized files), and where the
    other holds the most detections a file keeps, clear of its lowest score by as much, must
    be found in the other's, with the same class, box IoU >= .95 and, for float files, its score and
    box within `bounds.tolerance` (boxes: times the image side, in pixels).
    `detections_matched` is the fraction found; quantized files must find at least
    `bounds.min_agreement[quantize]` of them. `same_counts`: the fraction of images with
    the same `num_detections`."""
    if len(outputs) != len(OUTPUTS) or len(reference) != len(OUTPUTS):
        return {"ok": False, "error": f"{len(outputs)} outputs, {len(reference)} reference outputs; "
                                      f"a detector has {len(OUTPUTS)}: {', '.join(OUTPUTS)}"}  # fmt: skip
    mine, theirs = _named(outputs), _named(reference)
    side = max(float(np.max(theirs["boxes"])), 1.0)  # boxes are clipped to the image
    found, counted, matches = matching.found_both_ways(
        per_image(mine), per_image(theirs), np.asarray(theirs["scores"]).shape[1],
        margin=bounds.tolerance if quantize is None else 0.05, threshold=SCORE_THRESHOLD,
        same_iou=SAME_BOX_IOU, corner_px=SAME_CORNERS_PX,
    )  # fmt: skip
    agreement = found / counted if counted else 1.0
    score_diff = max((m.score_diff for m in matches), default=0.0)
    box_diff = max((m.box_diff for m in matches), default=0.0)
    same_counts = float(np.mean(mine["num_detections"] == theirs["num_detections"]))
    ok = agreement >= bounds.min_agreement[quantize] if quantize is not None else (
        agreement == 1.0 and max(score_diff, box_diff / side) <= bounds.tolerance)  # fmt: skip
    check = {
        "ok": bool(ok), "max_abs_diff": max(score_diff, box_diff / side), "score_max_abs_diff": score_diff,
        "box_max_abs_diff_px": box_diff, "detections_matched": agreement, "detections_compared": counted,
        "same_counts": same_counts, "agreement": "detections_matched", "images": int(len(theirs["scores"])),
    }  # fmt: skip
    if not ok:
        check["error"] = (f"{found} of {counted} detections found again; score diff {score_diff:.2e}, "
                          f"box diff {box_diff:.2e} px")  # fmt: skip
    return check


def _named(columns):
    """A file's outputs (in `OUTPUTS` order) as `Detections` gives them: by name, integer
    classes and counts (a TFLite file may give them as floats)."""
    detections = dict(zip(OUTPUTS, columns))
    for key in ("classes", "num_detections"):
        detections[key] = np.asarray(detections[key]).astype(np.int32)
    return detections


def export_metrics(outputs, labels=None):
    """The export report's task metrics of a detector's final detections (`OUTPUTS`):
    without labels none ({"accuracy": None}); with labels, (N, max_boxes, 5) [x1, y1, x2,
    y2, class] in input pixels padded with -1 rows (`detection_data.labels`), also COCO's
    box "map" and "map50" (%) over the classes present, measured in the input's frame."""
    if labels is None:
        return {"accuracy": None}
    truth = {"images": [{"id": i} for i in range(len(labels))], "annotations": []}
    for i, rows in enumerate(np.asarray(labels, np.float64)):
        for x1, y1, x2, y2, cls in rows[rows[:, 4] >= 0].tolist():
            truth["annotations"].append({"id": len(truth["annotations"]), "image_id": i, "category_id": int(cls),
                                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                         "iscrowd": 0})  # fmt: skip
    found = [
        {"image_id": i, "category_id": int(cls), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)}
        for i, (boxes, scores, classes) in enumerate(per_image(_named(outputs)))
        for (x1, y1, x2, y2), score, cls in zip(np.asarray(boxes, np.float64).tolist(), scores, classes)
    ]  # fmt: skip
    classes = sorted({a["category_id"] for a in truth["annotations"]} | {d["category_id"] for d in found})
    truth["categories"] = [{"id": c, "name": str(c)} for c in classes]
    result = coco_map(truth, found)
    return {"accuracy": None, **{k: None if result[k] is None else 100 * result[k] for k in ("map", "map50")}}


# ---------------------------------------------------------------------- pictures


def truths_by_image(ground_truth):
    found = defaultdict(list)
    for annotation in ground_truth["annotations"]:
        found[annotation["image_id"]].append(annotation)
    return found


def plot_detections(examples, detections, ground_truth, class_names, path, title):
    """One panel per image: ground-truth boxes (green, dashed) and detections (one colour
    per class, with name and score) over the image at its own aspect ratio."""
    plt = pyplot()
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    images, image_ids, sizes = examples
    index = {c["id"]: i for i, c in enumerate(ground_truth["categories"])}
    colours = colormaps["tab10"].colors  # a class keeps its colour in every picture and run
    truths, found = truths_by_image(ground_truth), defaultdict(list)
    for d in detections:
        found[d["image_id"]].append(d)
    fig, axes = plt.subplots(1, len(images), figsize=(4.2 * len(images), 4.0), squeeze=False)
    for ax, image, image_id, (height, width) in zip(axes[0], images, image_ids, sizes):
        content_h, content_w = content_size(height, width, len(image))  # the letterbox's padding left out
        ax.imshow(np.clip(image[:content_h, :content_w], 0, 255).astype(np.uint8), extent=(0, width, height, 0))
        for t in truths[image_id]:
            x, y, w, h = t["bbox"]
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=TRUTH_COLOUR, linestyle="--", linewidth=1.2))
        shown = sorted((d for d in found[image_id] if d["score"] >= SHOWN_SCORE), key=lambda d: -d["score"])[:SHOWN_MAX]
        for d in shown:
            x, y, w, h = d["bbox"]
            colour = colours[index[d["category_id"]] % len(colours)]
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=2))
            ax.text(x, y, f"{class_names[index[d['category_id']]]} {d['score']:.2f}", fontsize=7, color="black",
                    va="bottom", bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "linewidth": 0})  # fmt: skip
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_title(f"image {image_id}: {len(shown)} detections >= {SHOWN_SCORE}, {len(truths[image_id])} true",
                     fontsize=8)  # fmt: skip
        ax.axis("off")
    fig.suptitle(f"{title}\n(dashed green: ground truth; coloured: detections with class and score)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


class EpochReport(keras.callbacks.Callback):
    """After every epoch: the exact validation mAP and mAP@.5 into the epoch's logs (so into
    the run's history and curves), and `predictions_epoch<N>.png` of fixed validation
    images in the run folder."""

    def __init__(self, decoder, val_split, val_batches, examples, config, categories, class_names, run_dir):
        """`decoder`: the trained model with its detections on top (`DetectionTask.detector`),
        sharing its layers, so always at its current weights."""
        super().__init__()
        self.decoder = decoder
        self.val_split, self.val_batches, self.examples = val_split, val_batches, examples
        self.image_size, self.categories, self.class_names = config.image_size, categories, class_names
        self.run_dir, self.name = run_dir, decoder.name

    def on_epoch_end(self, epoch, logs=None):
        detections = detect(self.decoder, self.val_batches, self.image_size, self.categories)
        result = coco_map(self.val_split.ground_truth, detections)
        if logs is not None:
            logs.update(val_map=result["map"], val_map50=result["map50"])
        log.info("Epoch %d: validation mAP %.1f%%, mAP@.5 %.1f%%", epoch + 1, 100 * (result["map"] or 0),
                 100 * (result["map50"] or 0))  # fmt: skip
        images, image_ids, sizes = self.examples
        detections = to_coco(self.decoder.predict_on_batch(images), image_ids, sizes, self.image_size, self.categories)
        plot_detections(
            self.examples, detections, self.val_split.ground_truth, self.class_names,
            self.run_dir / EPOCH_PICTURE.format(epoch=epoch + 1),
            f"{self.name}: validation images after epoch {epoch + 1} (val mAP@.5 {result['map50'] or 0:.1%})",
        )  # fmt: skip
