"""Fine-tune a keras_resnets backbone on an image-classification dataset, end to end.

    python apps/finetune.py --dataset flowers                      # tensorflow-datasets tf_flowers
    python apps/finetune.py --data-dir ../shared/data/flowers-full # a local <class>/<image> folder
    python apps/finetune.py --data-dir DIR --model resnet18 --weights none --epochs 20

Pretrained weights: phase 1 trains a new head on the frozen backbone, phase 2 unfreezes
the top stages at a lower learning rate with BatchNorm kept in inference mode. From
scratch (--weights none): one phase that trains everything. Every epoch is checkpointed
under runs/<run-name>/; running the same command again (or --resume) continues after the
last completed epoch, optimizer state and schedule position included. At the end: a
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

import argparse
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_resnets as kr  # noqa: E402
from keras_resnets import export, training  # noqa: E402
from keras_resnets.tasks.classification import ClassificationTask  # noqa: E402
from keras_resnets.tasks.classification_data import AUGMENTATIONS  # noqa: E402

EXIT_USAGE, EXIT_EXPORT = 2, 3
# fmt: off
LOCAL_DATA = "--data-dir PATH, a folder with one sub-folder of images per class (in this workplace: --data-dir ../shared/data/flowers-full)"
# What to do about a library error, by the option it names; others get "See --<option>.".
ADVICE = {
    "data_dir": f"Use {LOCAL_DATA}.",
    "dataset": f"Use a local copy instead: {LOCAL_DATA}.",
    "augment": "Run with KERAS_BACKEND=tensorflow, or leave out --augment (random resized crop and flip still apply).",
    "weights": "Here: --weights PATH, or --weights none to train from scratch.",
    "run_name": "Resume it with the same options (or --resume), pick another --run-name, or pass --overwrite to start it again.",
    "resume": "--resume needs --run-name of an existing run (and its --output-dir).",
}
# fmt: on


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows a default only where it says something and the help text does not already."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


# fmt: off
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="finetune.py", description=__doc__, formatter_class=HelpFormatter, epilog="More in README.md, section 'Fine-tuning'.")
    src = parser.add_argument_group("data")
    where = src.add_mutually_exclusive_group()
    where.add_argument("--dataset", help="a tensorflow-datasets image-classification name ('flowers' = tf_flowers; oxford_flowers102, cifar10, ...); its val/test splits are used when it has them, otherwise carved out of 'train' (70/15/15%%, or 90/10%% of train for val when only test exists); default: flowers when --data-dir is not given")
    where.add_argument("--data-dir", help="a local folder <class>/<image> (JPEG/PNG/BMP/GIF); a splits.csv (file,class,split) beside the class folders is honoured, else each class is split 70/15/15%% (sorted paths shuffled by random.Random(1234))")
    src.add_argument("--tfds-dir", help="tensorflow-datasets storage folder (default: its own)")
    src.add_argument("--max-images", type=int, help="use at most this many images per split (quick trials)")
    src.add_argument("--no-cache", action="store_true", help="do not cache decoded images in memory")
    mdl = parser.add_argument_group("model")
    mdl.add_argument("--model", default="resnet50v2", help="any name of keras_resnets.list_models()")
    mdl.add_argument("--weights", help="'none' (from scratch), a weights tag of the model (imagenet, cifar10, ...; see keras_resnets.model_info(name)['weights']) or a backbone weights file; default: 'imagenet' when the model has it, else its first tag, else none")
    mdl.add_argument("--preprocessing", choices=kr.imagenet.MODES, help="input preprocessing (a layer inside the model); default: the weights' own")
    mdl.add_argument("--image-size", type=int, help=f"input side in pixels; default: the weights' resolution, {training.config.SCRATCH_SIZE} (or the model's smaller default size) with --weights none")
    mdl.add_argument("--dropout", type=float, default=0.2, help="dropout before the classifier")
    rec = parser.add_argument_group("training recipe")
    rec.add_argument("--head-epochs", type=int, default=2, help="phase 1: epochs on the head alone (pretrained)")
    rec.add_argument("--epochs", type=int, default=8, help="phase 2 epochs (backbone partly unfrozen); with --weights none: all epochs")
    rec.add_argument("--unfreeze", default="2", help="phase 2: number of top stages to train, or 'all'")
    rec.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    rec.add_argument("--lr", type=float, help="peak learning rate of phase 1 (or from scratch); default: 1e-3 for adamw, 1e-2 for sgd")
    rec.add_argument("--finetune-lr", type=float, help="peak learning rate of phase 2; default: lr / 10")
    rec.add_argument("--weight-decay", type=float, help="decoupled weight decay (not on BN and biases); default: 0.05 for adamw, 1e-4 for sgd")
    rec.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up per phase, then cosine decay")
    rec.add_argument("--label-smoothing", type=float, default=0.1)
    rec.add_argument("--augment", choices=AUGMENTATIONS, help="extra keras-cv augmentation on top of random resized crop + flip")
    rec.add_argument("--batch-size", type=int, default=32)
    rec.add_argument("--steps-per-epoch", type=int, help="training batches per epoch (default: one pass)")
    rec.add_argument("--seed", type=int, default=0, help="seeds weights init, shuffling, augmentation")
    rec.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16 on CPU, mixed_float16 on GPU (the head stays float32)")
    out = parser.add_argument_group("output")
    out.add_argument("--run-name", help="default: <model>-<dataset>-<weights>-<size>px (so a rerun resumes)")
    out.add_argument("--output-dir", default="runs", help="runs go to <output-dir>/<run-name>/")
    out.add_argument("--resume", action="store_true", help="continue <run-name> with its saved options")
    out.add_argument("--overwrite", action="store_true", help="discard <run-name>'s checkpoints first")
    out.add_argument("--export-dir", help="default: saved_models/<run-name>")
    out.add_argument("--no-export", action="store_true", help="skip export and its checks")
    out.add_argument("--export-tolerance", type=float, default=export.DEFAULT_TOLERANCE, help="max abs difference of exported vs Keras probabilities")
    out.add_argument("--export-images", type=int, default=32, help="test images used for the checks")
    out.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar (the default when output is not a terminal)")
    out.add_argument("--log-every-steps", type=int, help="with line output, also a line every this many steps")
    return parser.parse_args(argv)
# fmt: on


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("keras_resnets").setLevel(logging.INFO)
    args = parse_args(argv)
    task, config = training.from_options(ClassificationTask, {
        **vars(args),
        "dataset": args.dataset or (None if args.data_dir else "flowers"),
        "cache": not args.no_cache,
        "export": not args.no_export,
        "progress": "lines" if args.quiet else "auto",
    })
    try:
        training.run(task, config)
    except (training.OptionError, kr.weights.WeightsUnavailableError) as exc:
        option = getattr(exc, "option", "weights")  # unavailable weights: the only OSError here
        advice = ADVICE.get(option, f"See --{option.replace('_', '-')}." if option else "")
        print(f"finetune.py: error: {exc} {advice}".rstrip(), file=sys.stderr)
        return EXIT_USAGE
    except export.ExportVerificationError as exc:
        print(f"finetune.py: export check failed: {exc}", file=sys.stderr)
        return EXIT_EXPORT
    return 0


if __name__ == "__main__":
    sys.exit(main())
