"""Fine-tune a keras_resnets backbone on an image-classification dataset, end to end.

    python apps/finetune.py --dataset flowers                      # tensorflow-datasets tf_flowers
    python apps/finetune.py --data-dir ../shared/data/flowers-full # a local <class>/<image> folder
    python apps/finetune.py --data-dir DIR --model resnet18 --weights none --epochs 20

Pretrained weights: phase 1 trains a new head on the frozen backbone, phase 2 unfreezes
the top stages at a lower learning rate with BatchNorm kept in inference mode. From
scratch (--weights none): one phase that trains everything. Every epoch is checkpointed
under runs/<run-name>/; running the same command again (or --resume) continues after the
last completed epoch, optimizer state and schedule position included; once the run has
finished and its export passed, that checkpoint is deleted (--keep-checkpoint keeps it). At the end: a
train/val/test table, per-class precision/recall, the confusion matrix and curves as PNG,
metrics.json, and an export (model.keras, SavedModel, TFLite, labels.txt) to
saved_models/<run-name>/ in which every artifact is checked against the Keras model on
real test images; a failed check exits with status 3. SavedModel and TFLite export need
TensorFlow (LiteRT refuses JAX): under KERAS_BACKEND=jax or torch the run trains on that
backend, writes and checks model.keras itself, and a TensorFlow subprocess rebuilds the
model from model.keras to write the SavedModel and TFLite files, which are checked
against the probabilities of the original backend.

Exit status: 0 done, 2 bad input or options (the message says what to do), 3 an exported
artifact failed its check.
"""

import sys

# Options and parsing only: TensorFlow loads once the options have passed their checks.
from keras_resnets.tasks.options import CLASSIFICATION_AUGMENTATIONS, ClassificationOptions
from keras_resnets.training import cli

# Re-exported for the tests and for scripts that check exit codes.
EXIT_USAGE, EXIT_EXPORT = cli.EXIT_USAGE, cli.EXIT_EXPORT
LOCAL_DATA = (
    "--data-dir PATH, a folder with one sub-folder of images per class (in this workplace: "
    "--data-dir ../shared/data/flowers-full)"
)
ADVICE = {
    "data_dir": f"Use {LOCAL_DATA}.",
    "dataset": f"Use a local copy instead: {LOCAL_DATA}.",
    "augment": "Run with KERAS_BACKEND=tensorflow, or leave out --augment (random resized "
    "crop and flip still apply).",
}


def build_parser():
    parser, groups = cli.parser("finetune.py", __doc__, ClassificationOptions)
    where = groups["data"].add_mutually_exclusive_group()
    where.add_argument(
        "--dataset",
        help="a tensorflow-datasets image-classification name ('flowers' = tf_flowers; "
        "oxford_flowers102, cifar10, ...); its val/test splits are used when it has them, "
        "otherwise carved out of 'train' (70/15/15%%, or 90/10%% of train for val when only "
        "test exists); default: flowers when --data-dir is not given",
    )
    where.add_argument(
        "--data-dir",
        help="a local folder <class>/<image> (JPEG/PNG/BMP/GIF); a splits.csv "
        "(file,class,split) beside the class folders is honoured, else each class is split "
        "70/15/15%% (sorted paths shuffled by random.Random(1234))",
    )
    head = groups["model"].add_argument
    head("--dropout", type=float, help="dropout before the classifier")
    recipe = groups["training recipe"].add_argument
    recipe("--label-smoothing", type=float, help="of the cross-entropy's targets")
    recipe(
        "--augment",
        choices=CLASSIFICATION_AUGMENTATIONS,
        help="extra keras-cv augmentation on top of random resized crop + flip",
    )
    return parser


def task_class():
    from keras_resnets.tasks.classification import ClassificationTask

    return ClassificationTask


def main(argv=None):
    parser = build_parser()
    options = cli.parse(parser, ClassificationOptions, argv)
    if not options["data_dir"]:
        options["dataset"] = options["dataset"] or "flowers"
    return cli.main(parser, options, ClassificationOptions, task_class, ADVICE)


if __name__ == "__main__":
    sys.exit(main())
