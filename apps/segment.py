"""Train a semantic segmenter (DeepLabV3+ or a light FPN decoder) on any keras_resnets backbone.

    python apps/segment.py --data ../shared/data/segmentation-mini --weights none --image-size 96
    python apps/segment.py --data DIR --model resnet50v2 --head fpn --epochs 20
    python apps/segment.py --dataset oxford_iiit_pet                  # tensorflow-datasets
    python apps/segment.py --data DIR --model deeplabv3_resnet50 --weights tv_coco_voc

A local folder holds images/<name>.jpg, masks/<name>.png (single-channel class indices,
255 = void) and classes.txt (one name per line, in index order). Every image/mask pair is
checked before training: a missing mask, a mask of another size than its image or a class
index out of range stops the run with the file named, or with --skip-bad the pair is left
out and listed in metrics.json. Images and masks are cropped and flipped together (masks
resized by nearest neighbour); void pixels count in neither the loss nor the metrics.
Images and masks are letterboxed into the square input, never squashed: resized keeping
their aspect ratio so the longer side is --image-size, padded at the bottom and right (the
mask with void). apps/predict.py runs the exported segmenter on photos.

The backbone is the model's feature pyramid (keras_resnets.features): DeepLabV3+ puts
ASPP on its stride-16 map (the late stages dilated) and fuses a stride-4 map in its
decoder; --head fpn merges every level top-down on the undilated backbone at a fraction
of the cost. A pretrained segmenter (kr.list_models(task="segmentation"): torchvision's
DeepLabV3/FCN) brings its own backbone and head, so --head and --output-stride do not apply;
its class layers start afresh when the data has other classes than its 21 VOC ones, and
--aux-loss 0.5 trains its auxiliary head beside the main one, as torchvision's recipe does.
The recipe, checkpoints (rerun the same command to resume after a kill), curves,
metrics.json and the verified export (model.keras, SavedModel, TFLite: per-pixel
probabilities checked against the Keras model on real test images) are those of
apps/finetune.py. After every epoch, the exact validation mIoU is logged and
runs/<run-name>/predictions_epoch<N>.png shows predicted masks over fixed validation
images beside the ground truth; at the end, a split table, per-class IoU and
predictions_test.png.

Offline, ImageNet weights cannot be downloaded: train from scratch with --weights none
(the default model, resnet18, trains in minutes on a CPU at 64-128 px), pass a backbone
weights file, or put a weights file in ~/.keras/models first.

Exit status: 0 done, 2 bad input or options (the message says what to do), 3 an exported
artifact failed its check.
"""

import sys

# Options and parsing only: TensorFlow loads once the options have passed their checks.
from keras_resnets.tasks import options as task_options
from keras_resnets.tasks.options import SegmentationOptions
from keras_resnets.training import cli

LOCAL_DATA = (
    "--data PATH, a folder with images/, masks/ and classes.txt (in this workplace: "
    "--data ../shared/data/segmentation-mini)"
)
ADVICE = {
    "data_dir": f"Use {LOCAL_DATA}.",
    "dataset": f"Use a local copy instead: {LOCAL_DATA}.",
    "skip_bad": "Fix or remove those files, or pass --skip-bad to leave them out.",
}


def build_parser():
    parser, groups = cli.parser("segment.py", __doc__, SegmentationOptions)
    where = groups["data"].add_mutually_exclusive_group()
    where.add_argument("--data", dest="data_dir", metavar="DATA",
                       help="a local folder: images/, masks/ (PNG class indices, 255 = void), classes.txt")  # fmt: skip
    where.add_argument(
        "--dataset", help=f"a tensorflow-datasets segmentation set: {', '.join(task_options.SEGMENTATION_TFDS_SETS)}"
    )
    data = groups["data"].add_argument
    data("--skip-bad", action="store_true", help="leave out unusable image/mask pairs instead of stopping")
    model = groups["model"].add_argument
    model("--head", choices=task_options.SEGMENTATION_HEADS,
          help=f"the decoder on a backbone model (default {task_options.DEFAULT_SEGMENTATION_HEAD})")  # fmt: skip
    strides = ", ".join(f"{s} for {head}" for head, s in task_options.DEFAULT_OUTPUT_STRIDE.items())
    model("--output-stride", type=int, choices=task_options.OUTPUT_STRIDES,
          help=f"backbone output stride (late stages dilated below 32); default: {strides}")  # fmt: skip
    model("--aux-loss", type=float, help="a pretrained segmenter: train its auxiliary FCN head (on conv4) too, "
          "its loss weighted by this beside the main one (torchvision's recipe: 0.5); the export has no "
          "auxiliary head; default: 0, off")  # fmt: skip
    groups["output"].add_argument("--pictures", type=int, help="validation images drawn after every epoch")
    return parser


def task_class():
    from keras_resnets.tasks.segmentation import SegmentationTask

    return SegmentationTask


def main(argv=None):
    parser = build_parser()
    options = cli.parse(parser, SegmentationOptions, argv)
    return cli.main(parser, options, SegmentationOptions, task_class, ADVICE)


if __name__ == "__main__":
    sys.exit(main())
