"""Train a RetinaNet object detector on any keras_resnets backbone, end to end.

    python apps/detect.py --data ../shared/data/detection-mini --model resnet18 --weights none --image-size 256
    python apps/detect.py --data DIR --model resnet50 --epochs 20          # ImageNet weights, 512 px
    python apps/detect.py --dataset voc/2007                               # tensorflow-datasets

A local folder is COCO (annotations.json + images/) or YOLO (images/, labels/<name>.txt with
'class cx cy w h' lines normalised to [0, 1], classes.txt); images without boxes are
background. Every image and box is checked before training: an unreadable image, a label
file without its image, an unknown class id, a degenerate box or one outside its image
stops the run with the file named, or with --skip-bad is left out and listed in
metrics.json. Random crop and flip move the boxes with the image (--augment). Images are
letterboxed into the square input, never squashed: resized keeping their aspect ratio so the
longer side is --image-size, zero-padded at the bottom and right; evaluation maps the boxes
back to each image's own pixels. apps/predict.py runs the exported detector on photos.

The detector is RetinaNet: the backbone's P3-P5 taps (keras_resnets.features), a feature
pyramid P3-P7, class and box towers shared over the levels, focal loss and smooth L1 on
keras-cv's anchors and label encoding. The recipe, checkpoints (rerun the same command to
resume after a kill), curves and metrics.json are those of apps/finetune.py. After every
epoch the exact validation mAP (COCO's definition, keras_resnets.metrics.coco_map) is
logged and runs/<run-name>/predictions_epoch<N>.png draws the detections (class, score)
and the ground truth over fixed validation images; at the end, a split table of
mAP/mAP@.5/mAP@.75, per-class AP and predictions_test.png.

The export (model.keras, SavedModel, TFLite) returns the final detections, NMS in the graph:
boxes (N, 100, 4) in input pixels, scores (N, 100), classes (N, 100) and num_detections (N,).
Each artifact is checked against the Keras model on real test images (the same detections,
classes, boxes and scores); a failed check exits with status 3. Beside them, labels.txt (the
class names) and categories.json (each class index's category id in the data: COCO's ids,
which apps/predict.py writes into its results).

Offline, ImageNet weights cannot be downloaded: train from scratch with --weights none
(resnet18 at 256 px trains on a CPU), pass a backbone weights file, or put a weights file in
~/.keras/models first. The image size is a multiple of 32 (the stride of P5).

Exit status: 0 done, 2 bad input or options (the message says what to do), 3 an exported
artifact failed its check.
"""

import sys

# Options and parsing only: TensorFlow loads once the options have passed their checks.
from keras_resnets.tasks import options as task_options
from keras_resnets.tasks.options import DetectionOptions
from keras_resnets.training import cli

LOCAL_DATA = (
    "--data PATH, a COCO (annotations.json + images/) or YOLO (images/, labels/, classes.txt) "
    "folder (in this workplace: --data ../shared/data/detection-mini)"
)
ADVICE = {
    "data_dir": f"Use {LOCAL_DATA}.",
    "dataset": f"Use a local copy instead: {LOCAL_DATA}.",
    "skip_bad": "Fix or remove those boxes and files, or pass --skip-bad to leave them out.",
}


def build_parser():
    parser, groups = cli.parser("detect.py", __doc__, DetectionOptions)
    where = groups["data"].add_mutually_exclusive_group()
    where.add_argument("--data", dest="data_dir", metavar="DATA", help="a local COCO or YOLO folder (see above)")
    where.add_argument(
        "--dataset", help=f"a tensorflow-datasets detection set: {', '.join(task_options.DETECTION_TFDS_SETS)}"
    )
    data = groups["data"].add_argument
    data("--format", dest="data_format", choices=task_options.DETECTION_FORMATS,
         help="layout of --data; default: coco when annotations.json exists, else yolo")  # fmt: skip
    data("--skip-bad", action="store_true", help="leave out unusable boxes and images instead of stopping")
    model = groups["model"].add_argument
    model("--head-filters", type=int, help="channels of the feature pyramid and the towers")
    model("--head-depth", type=int, help="3x3 convs in each of the class and box towers")
    recipe = groups["training recipe"].add_argument
    recipe("--augment", choices=task_options.DETECTION_AUGMENTATIONS, help="crop: random crop + flip; flip; none")
    recipe("--max-boxes", type=int, help="boxes kept per training image")
    recipe("--box-weight", type=float, help="weight of the box loss beside the focal loss")
    groups["output"].add_argument("--pictures", type=int, help="validation images drawn after every epoch")
    return parser


def task_class():
    from keras_resnets.tasks.detection import DetectionTask

    return DetectionTask


def main(argv=None):
    parser = build_parser()
    options = cli.parse(parser, DetectionOptions, argv)
    return cli.main(parser, options, DetectionOptions, task_class, ADVICE)


if __name__ == "__main__":
    sys.exit(main())
