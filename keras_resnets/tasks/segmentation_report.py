"""How well a segmenter does, in numbers and pictures: split metrics (exact mIoU, pixel
accuracy, loss), per-class IoU, the printed summary, and predicted masks blended over
images beside the ground truth, with a legend of the classes present."""

import logging

import keras
import numpy as np

from keras_resnets.metrics import segmentation as seg_metrics
from keras_resnets.tasks import EPOCH_PICTURE
from keras_resnets.training.plots import pyplot

log = logging.getLogger(__name__)

EPSILON = 1e-7
BLEND = 0.55  # opacity of the class colours over the photo
LEGEND_MAX = 12  # classes named per picture row (the largest ones)


def evaluate_split(model, batches, num_classes):
    """(confusion matrix, mean cross-entropy over non-void pixels) of a batched split."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    loss_sum, counted = 0.0, 0
    for images, masks in batches.as_numpy_iterator():  # numpy: every backend takes it
        probs = np.asarray(model.predict_on_batch(images), dtype=np.float64)
        matrix += seg_metrics.confusion_matrix(masks, np.argmax(probs, axis=-1), num_classes)
        valid = masks != seg_metrics.VOID
        picked = np.take_along_axis(probs, np.where(valid, masks, 0)[..., None], axis=-1)[..., 0]
        loss_sum += float(-np.log(np.clip(picked[valid], EPSILON, 1.0)).sum())
        counted += int(valid.sum())
    return matrix, loss_sum / max(counted, 1)


def split_metrics(matrix, loss, images):
    return {
        "mean_iou": seg_metrics.mean_of_present(seg_metrics.class_iou(matrix)),
        "pixel_accuracy": seg_metrics.accuracy_of(matrix),
        "loss": loss,
        "images": int(images),
    }


def per_class(matrix, class_names):
    """{class: IoU (None where the class is in neither truth nor prediction), true pixels,
    predicted pixels}."""
    ious = seg_metrics.class_iou(matrix)
    return {
        name: {
            "iou": None if np.isnan(ious[i]) else float(ious[i]),
            "true_pixels": int(matrix[i].sum()),
            "predicted_pixels": int(matrix[:, i].sum()),
        }
        for i, name in enumerate(class_names)
    }


def format_summary(splits, classes, shown=15):
    lines = ["", f"{'split':<8}{'images':>8}{'mIoU':>8}{'pixel acc':>11}{'loss':>8}"]
    for name, m in splits.items():
        lines.append(
            f"{name:<8}{m['images']:>8}{m['mean_iou']:>8.1%}{m['pixel_accuracy']:>11.1%}{m['loss']:>8.3f}"
        )
    present = sorted(
        ((name, c) for name, c in classes.items() if c["iou"] is not None), key=lambda item: -item[1]["true_pixels"]
    )
    width = max((len(name) for name, _ in present[:shown]), default=5) + 2
    lines += ["", f"test IoU of the {min(shown, len(present))} largest of {len(present)} classes present (all in metrics.json)"]
    lines.append(f"{'class':<{width}}{'IoU':>7}{'pixels':>9}")
    for name, c in present[:shown]:
        lines.append(f"{name:<{width}}{c['iou']:>7.1%}{c['true_pixels']:>9}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- pictures


def row_colours(counts):
    """A colour per class for one picture row: the classes present, largest first, take
    matplotlib's 20 well-separated "tab20" colours in turn, so that no two classes of a row
    look alike (with 133 classes, any fixed palette has near-twins); classes past the 20th
    repeat them. Returns (colours (classes, 3) uint8, the present classes largest first)."""
    from matplotlib import colormaps

    table = (np.asarray(colormaps["tab20"].colors) * 255).astype(np.uint8)
    present = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i]]
    colours = np.zeros((len(counts), 3), np.uint8)
    for rank, index in enumerate(present):
        colours[index] = table[(2 * rank + rank // 10) % 20]  # dark shades first, then light
    return colours, present


def blend(image, labels, colours):
    """The photo with class colours laid over it; void pixels keep the photo, darkened."""
    image = np.clip(image, 0, 255).astype(np.float64)
    valid = labels != seg_metrics.VOID
    overlay = colours[np.where(valid, labels, 0)].astype(np.float64)
    out = np.where(valid[..., None], (1 - BLEND) * image + BLEND * overlay, 0.5 * image)
    return out.astype(np.uint8)


def plot_predictions(images, masks, predicted, class_names, path, title):
    """One row per image: the photo, the ground truth and the prediction blended over it,
    and a legend of the classes present in either mask (largest first)."""
    plt = pyplot()
    from matplotlib.patches import Patch

    rows = len(images)
    fig, axes = plt.subplots(rows, 4, figsize=(13, 3.1 * rows + 0.4), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 0.9]})  # fmt: skip
    for row, (image, truth, guess) in enumerate(zip(images, masks, predicted)):
        counts = np.bincount(np.concatenate([truth[truth != seg_metrics.VOID], guess.ravel()]),
                             minlength=len(class_names))  # fmt: skip
        colours, present = row_colours(counts)
        panels = [
            (np.clip(image, 0, 255).astype(np.uint8), "image"),
            (blend(image, truth, colours), "ground truth (dark: void)"),
            (blend(image, guess, colours), f"prediction ({seg_metrics.mean_iou(truth, guess, len(class_names)):.0%} mIoU)"),
        ]  # fmt: skip
        for ax, (picture, label) in zip(axes[row], panels):
            ax.imshow(picture, interpolation="nearest")
            ax.set_title(label, fontsize=9)
            ax.axis("off")
        handles = [Patch(color=colours[i] / 255, label=class_names[i]) for i in present[:LEGEND_MAX]]
        axes[row][3].axis("off")
        axes[row][3].legend(handles=handles, loc="center left", fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def draw_predictions(model, examples, class_names, path, title):
    """`plot_predictions` of what `model` predicts on `examples` (images, masks)."""
    images, masks = examples
    predicted = np.argmax(np.asarray(model.predict_on_batch(images)), axis=-1)
    plot_predictions(images, masks, predicted, class_names, path, title)


class EpochReport(keras.callbacks.Callback):
    """After every epoch: the exact validation mIoU and pixel accuracy into the epoch's logs
    (so into the run's history and curves), and `predictions_epoch<N>.png` of fixed
    validation images in the run folder."""

    def __init__(self, segmenter, val_batches, examples, class_names, run_dir):
        """`segmenter`: the model trained, or a copy that `training.loop` keeps at its weights."""
        super().__init__()
        self.segmenter, self.val_batches, self.examples = segmenter, val_batches, examples
        self.class_names, self.run_dir = class_names, run_dir

    def on_epoch_end(self, epoch, logs=None):
        matrix, _ = evaluate_split(self.segmenter, self.val_batches, len(self.class_names))
        miou = seg_metrics.mean_of_present(seg_metrics.class_iou(matrix))
        accuracy = seg_metrics.accuracy_of(matrix)
        if logs is not None:
            logs.update(val_mean_iou=miou, val_pixel_accuracy=accuracy)
        log.info("Epoch %d: validation mIoU %.1f%%, pixel accuracy %.1f%%", epoch + 1, 100 * miou, 100 * accuracy)
        draw_predictions(
            self.segmenter, self.examples, self.class_names,
            self.run_dir / EPOCH_PICTURE.format(epoch=epoch + 1),
            f"{self.segmenter.name}: validation images after epoch {epoch + 1} ({miou:.1%} val mIoU)",
        )  # fmt: skip
