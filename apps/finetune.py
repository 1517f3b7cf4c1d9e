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
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets import weights as weights_lib  # noqa: E402
from keras_resnets.training import checkpoints, data, export, model as model_lib  # noqa: E402
from keras_resnets.training import recipe, report  # noqa: E402

log = logging.getLogger("keras_resnets.finetune")

EXIT_USAGE = 2
EXIT_EXPORT = 3

# Options that define what a run computes: a run folder resumes only with the same ones.
RUN_OPTIONS = (
    "dataset", "data_dir", "max_images", "model", "weights", "preprocessing", "image_size",
    "dropout", "label_smoothing", "head_epochs", "epochs", "unfreeze", "optimizer", "lr",
    "finetune_lr", "weight_decay", "warmup_epochs", "batch_size", "steps_per_epoch", "seed",
    "augment", "mixed_precision",
)  # fmt: skip


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows a default only where it says something and the help text does not already."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


class UsageError(Exception):
    """Bad options; the message says what to do."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="finetune.py",
        description=__doc__,
        epilog="More in README.md, section 'Fine-tuning'.",
        formatter_class=HelpFormatter,
    )
    src = parser.add_argument_group("data")
    where = src.add_mutually_exclusive_group()
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
    src.add_argument("--tfds-dir", help="tensorflow-datasets storage folder (default: its own)")
    src.add_argument(
        "--max-images", type=int, help="use at most this many images per split (quick trials)"
    )
    src.add_argument("--no-cache", action="store_true", help="do not cache decoded images in memory")

    mdl = parser.add_argument_group("model")
    mdl.add_argument(
        "--model", default="resnet50v2", help="any name of keras_resnets.list_models()"
    )
    mdl.add_argument(
        "--weights",
        help="'none' (from scratch), a weights tag of the model (imagenet, cifar10, ...; see "
        "keras_resnets.model_info(name)['weights']) or a backbone weights file; default: "
        "'imagenet' when the model has it, else its first tag, else none",
    )
    mdl.add_argument(
        "--preprocessing",
        choices=kr.imagenet.MODES,
        help="input preprocessing (a layer inside the model); default: the weights' own",
    )
    mdl.add_argument(
        "--image-size",
        type=int,
        help=f"input side in pixels; default: the weights' resolution, {model_lib.SCRATCH_SIZE} "
        "(or the model's smaller default size) with --weights none",
    )
    mdl.add_argument("--dropout", type=float, default=0.2, help="dropout before the classifier")

    rec = parser.add_argument_group("training recipe")
    rec.add_argument(
        "--head-epochs", type=int, default=2, help="phase 1: epochs on the head alone (pretrained)"
    )
    rec.add_argument(
        "--epochs",
        type=int,
        default=8,
        help="phase 2 epochs (backbone partly unfrozen); with --weights none: all epochs",
    )
    rec.add_argument(
        "--unfreeze", default="2", help="phase 2: number of top stages to train, or 'all'"
    )
    rec.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    rec.add_argument(
        "--lr", type=float, help="peak learning rate of phase 1 (or from scratch); default: "
        "1e-3 for adamw, 1e-2 for sgd",
    )
    rec.add_argument("--finetune-lr", type=float, help="peak learning rate of phase 2; default: lr / 10")
    rec.add_argument(
        "--weight-decay", type=float, help="decoupled weight decay (not on BN and biases); "
        "default: 0.05 for adamw, 1e-4 for sgd",
    )
    rec.add_argument(
        "--warmup-epochs", type=float, default=1.0, help="linear warm-up per phase, then cosine decay"
    )
    rec.add_argument("--label-smoothing", type=float, default=0.1)
    rec.add_argument(
        "--augment",
        choices=data.AUGMENTATIONS,
        help="extra keras-cv augmentation on top of random resized crop + flip",
    )
    rec.add_argument("--batch-size", type=int, default=32)
    rec.add_argument(
        "--steps-per-epoch", type=int, help="training batches per epoch (default: one pass)"
    )
    rec.add_argument("--seed", type=int, default=0, help="seeds weights init, shuffling, augmentation")
    rec.add_argument(
        "--mixed-precision",
        action="store_true",
        help="mixed_bfloat16 on CPU, mixed_float16 on GPU (the head stays float32)",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--run-name", help="default: <model>-<dataset>-<weights>-<size>px (so a rerun resumes)"
    )
    out.add_argument("--output-dir", default="runs", help="runs go to <output-dir>/<run-name>/")
    out.add_argument("--resume", action="store_true", help="continue <run-name> with its saved options")
    out.add_argument("--overwrite", action="store_true", help="discard <run-name>'s checkpoints first")
    out.add_argument("--export-dir", help="default: saved_models/<run-name>")
    out.add_argument("--no-export", action="store_true", help="skip export and its checks")
    out.add_argument(
        "--export-tolerance",
        type=float,
        default=export.DEFAULT_TOLERANCE,
        help="max abs difference of exported vs Keras probabilities",
    )
    out.add_argument("--export-images", type=int, default=32, help="test images used for the checks")
    out.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    args = parser.parse_args(argv)
    if args.dataset is None and args.data_dir is None:
        args.dataset = "flowers"
    return args


def resolve(args):
    """Fills the defaults that depend on the model and weights; checks the options."""
    try:
        spec = kr.get_spec(args.model)
    except ValueError as exc:
        raise UsageError(exc) from None
    args.model = spec.registry_name
    if args.weights is None:
        tags = weights_lib.available(spec.registry_name)
        args.weights = "imagenet" if "imagenet" in tags else (tags[0] if tags else "none")
    try:
        weights, pretrained, preprocessing, size = model_lib.resolve_weights(args.model, args.weights)
    except ValueError as exc:
        raise UsageError(exc) from None
    args.preprocessing = args.preprocessing or preprocessing
    args.image_size = args.image_size or size
    if args.image_size < 32:
        raise UsageError(f"--image-size must be at least 32; got {args.image_size}.")
    if args.unfreeze != "all" and not args.unfreeze.isdigit():
        raise UsageError(f"--unfreeze takes a number of stages or 'all'; got {args.unfreeze!r}.")
    args.lr = args.lr or recipe.DEFAULT_LR[args.optimizer]
    args.finetune_lr = args.finetune_lr or args.lr / 10
    if args.weight_decay is None:
        args.weight_decay = 0.05 if args.optimizer == "adamw" else 1e-4
    if args.run_name is None:
        source = Path(args.data_dir).resolve().name if args.data_dir else args.dataset
        tag = args.weights == "none" or weights_lib.find(args.model, args.weights)
        label = args.weights if tag else Path(args.weights).stem
        args.run_name = f"{args.model}-{source}-{label}-{args.image_size}px"
    return weights, pretrained


def load_data(args):
    if args.data_dir:
        source = data.load_folder(args.data_dir)
    else:
        source = data.load_tfds(args.dataset, args.tfds_dir)
    if args.max_images:
        data.limit(source, args.max_images)
    log.info("Data %s", source.describe())
    if source.skipped:
        log.warning("%d unreadable files skipped (listed above).", len(source.skipped))
    return source


def train(args, model, phases, source, run_dir):
    """Runs (or resumes) every phase; returns the per-epoch history."""
    train_count = source.splits["train"].count
    steps = args.steps_per_epoch or max(1, train_count // args.batch_size)
    state = checkpoints.latest(run_dir)
    start, history, current = 0, [], None
    if state is not None:
        current = next(p for p in phases if p.name == state["phase"])
        recipe.compile_for(model, current, args, steps)
        checkpoints.restore(run_dir, model, state)
        start, history = state["epoch"], state["history"]
        log.info(
            "Resuming %s after epoch %d (phase %s, optimizer step %d).",
            run_dir, start, current.name, state["optimizer_step"],
        )  # fmt: skip
    if start >= phases[-1].end:
        log.info("Training already complete (%d epochs).", start)
        return history
    train_ds = data.pipeline(
        source.splits["train"],
        len(source.class_names),
        args.image_size,
        args.batch_size,
        training=True,
        seed=args.seed + start,
        augment=args.augment,
        cache=not args.no_cache,
    )
    val_ds = eval_pipeline(args, source, "val")
    for phase in phases:
        if start >= phase.end:
            continue
        if phase is not current:
            recipe.compile_for(model, phase, args, steps)
            current = phase
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        log.info(
            "Phase %s: epochs %d-%d, lr %g, unfreeze %s, %s trainable parameters.",
            phase.name, phase.start + 1, phase.end, phase.lr, phase.unfreeze, f"{trainable:,}",
        )  # fmt: skip
        model.fit(
            train_ds,
            epochs=phase.end,
            initial_epoch=max(start, phase.start),
            steps_per_epoch=steps,
            validation_data=val_ds,
            callbacks=[
                recipe.Throughput(args.batch_size),
                checkpoints.Checkpointer(run_dir, phase.name, history),
            ],
            verbose=2 if args.quiet else 1,
            shuffle=False,  # the pipeline shuffles
        )
    return history


def eval_pipeline(args, source, split):
    return data.pipeline(
        source.splits[split],
        len(source.class_names),
        args.image_size,
        args.batch_size,
        cache=not args.no_cache,
    )


def evaluate(args, model, source, run_dir):
    splits, test = {}, None
    for split in data.SPLITS:
        labels, probs = report.predict(model, eval_pipeline(args, source, split))
        splits[split] = report.split_metrics(labels, probs)
        if split == "test":
            test = labels, np.argmax(probs, axis=-1)
    matrix = report.confusion_matrix(*test, len(source.class_names))
    classes = report.per_class(matrix, source.class_names)
    report.plot_confusion(
        matrix, source.class_names, run_dir / "confusion_matrix.png",
        f"{args.model} test set ({splits['test']['accuracy']:.1%} accuracy)",
    )  # fmt: skip
    return splits, classes, matrix


def inference_copy(args, model, num_classes, pretrained):
    """The trained model rebuilt uncompiled and in float32: what gets exported.

    Uncompiled, so `model.keras` carries no optimizer state (half the size) and no
    backend-specific optimizer class (a torch one would drag PyTorch into the TensorFlow
    export process); float32, so mixed-precision runs export plain float32 artifacts.
    """
    keras.mixed_precision.set_global_policy("float32")
    copy = model_lib.build_classifier(
        args.model, None, num_classes, args.image_size, args.preprocessing, pretrained, args.dropout
    )
    copy.set_weights(model.get_weights())
    return copy


def run(args):
    began = time.perf_counter()
    run_dir = Path(args.output_dir) / args.run_name if args.run_name else None
    if args.resume:
        if run_dir is None or not (run_dir / checkpoints.CONFIG).exists():
            raise UsageError("--resume needs --run-name of an existing run (and its --output-dir).")
        saved = checkpoints.read_json(run_dir / checkpoints.CONFIG)
        for key in RUN_OPTIONS:
            setattr(args, key, saved[key])
    weights, pretrained = resolve(args)
    run_dir = Path(args.output_dir) / args.run_name
    keras.utils.set_random_seed(args.seed)
    policy = recipe.mixed_precision_policy() if args.mixed_precision else "float32"
    keras.mixed_precision.set_global_policy(policy)

    source = load_data(args)
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.overwrite:
        checkpoints.clear(run_dir)
    checkpoints.check_config(run_dir, {key: getattr(args, key) for key in RUN_OPTIONS})
    log.info(
        "Run %s: %s (weights %s, %s preprocessing) at %d px, backend %s, policy %s.",
        run_dir, args.model, args.weights, args.preprocessing, args.image_size,
        keras.backend.backend(), policy,
    )  # fmt: skip

    phases = recipe.plan(
        pretrained, args.head_epochs, args.epochs, args.lr, args.finetune_lr, args.unfreeze
    )
    if not phases:
        raise UsageError("Nothing to train: --head-epochs and --epochs are both 0.")
    num_classes = len(source.class_names)
    model = model_lib.build_classifier(
        args.model, weights, num_classes, args.image_size, args.preprocessing, pretrained, args.dropout
    )
    history = train(args, model, phases, source, run_dir)

    splits, classes, matrix = evaluate(args, model, source, run_dir)
    report.plot_curves(history, run_dir / "curves.png")
    print(report.format_summary(splits, classes, matrix, source.class_names))
    train_time = sum(h["train_time_s"] for h in history)
    rates = [h["img/s"] for h in history if h["img/s"] is not None]
    metrics = {
        "run": args.run_name,
        "options": {key: getattr(args, key) for key in RUN_OPTIONS},
        "backend": keras.backend.backend(),
        "dtype_policy": policy,
        "data": {
            "source": source.name,
            "classes": source.class_names,
            "split_rule": source.split_rule,
            "counts": {k: v.count for k, v in source.splits.items()},
            "skipped_files": [{"file": f, "reason": r} for f, r in source.skipped],
        },
        "splits": splits,
        "per_class_test": classes,
        "confusion_matrix_test": matrix.tolist(),
        "history": history,
        "training_time_s": train_time,
        "train_images_per_s": float(np.median(rates)) if rates else None,
        "wall_time_s_this_invocation": None,
        "plots": ["curves.png", "confusion_matrix.png"],
    }
    metrics_path = run_dir / "metrics.json"
    try:
        if not args.no_export:
            export_dir = Path(args.export_dir or Path("saved_models") / args.run_name)
            to_export = inference_copy(args, model, num_classes, pretrained)
            images = data.take_images(source.splits["test"], args.image_size, args.export_images)
            metrics["export"] = {"dir": str(export_dir), "checks": None}
            metrics["export"]["checks"] = export.export_all(
                to_export, export_dir, source.class_names, images, args.export_tolerance
            )
            log.info("Exported to %s; every artifact matches the Keras model:", export_dir)
            for name, check in metrics["export"]["checks"].items():
                log.info(
                    "  %-12s max abs diff %.2e, top-1 agreement %.0f%% on %d test images",
                    name, check["max_abs_diff"], 100 * check["top1_agreement"], check["images"],
                )  # fmt: skip
    except export.ExportVerificationError as exc:
        metrics["export"]["error"] = str(exc)
        raise
    finally:
        metrics["wall_time_s_this_invocation"] = time.perf_counter() - began
        checkpoints.write_json(metrics_path, metrics)
        log.info("Metrics, curves and confusion matrix in %s", run_dir)
    return 0


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    args = parse_args(argv)
    try:
        return run(args)
    except weights_lib.WeightsUnavailableError as exc:
        print(
            f"finetune.py: error: {exc} Here: --weights PATH, or --weights none to train from "
            "scratch.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except (UsageError, data.DataError, checkpoints.RunConfigError) as exc:
        print(f"finetune.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except export.ExportVerificationError as exc:
        print(f"finetune.py: export check failed: {exc}", file=sys.stderr)
        return EXIT_EXPORT


if __name__ == "__main__":
    sys.exit(main())
