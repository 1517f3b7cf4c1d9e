"""The command line every training app shares (finetune, segment, detect).

An app builds its parser with `parser(...)`, adds its task's own flags to the "data" group
(and any other), each flag's `dest` named like the option it sets, and calls `main(...)`.
That reads every default from the fields of `RunConfig` and of the task's options class
(so --help shows what the library does, and nothing is written twice), refuses a flag that
sets no option, builds and checks the options, checks that the output folders can be
written, and only then imports TensorFlow, quietly (`import_backend`), builds the task and
runs `keras_resnets.training.run`. Library errors become one line of fact and one of advice
about the flag at fault: the library's errors state facts; the flag advice lives here, with
the flags.

Nothing here imports Keras or TensorFlow at import time, so a misspelt flag or a bad value
costs a fraction of a second (exit 2) instead of TensorFlow's start-up.

Exit status: 0 done, 2 bad input or options, 3 an exported artifact failed its check.
"""

import argparse
import contextlib
import dataclasses
import importlib.util
import logging
import os
import sys
import tempfile

from keras_resnets.training.errors import OptionError
from keras_resnets.training.options import (
    CACHE_MODES,
    DEFAULT_LR,
    DEFAULT_WEIGHT_DECAY,
    DISTRIBUTE_MODES,
    EXPORT_ROOT,
    PREPROCESSING_MODES,
    RUN_TIMING_RUNS,
    RunConfig,
    check_writable,
    from_options,
)

EXIT_USAGE, EXIT_EXPORT = 2, 3
# Read before anything of ours sets it: a level the user chose is theirs, noise included.
USER_LOG_LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
# What to do about a library error, by the option it names; others get "See --<flag>.".
ADVICE = {
    "weights": "Here: --weights PATH, or --weights none to train from scratch.",
    "run_name": "Resume it with the same options (or --resume), pick another --run-name, "
    "or pass --overwrite to start it again.",
    "resume": "--resume needs --run-name of an existing run (and its --output-dir).",
    "keep_checkpoint": "Pass --overwrite to train it again, or pick another --run-name "
    "(--keep-checkpoint keeps a finished run's checkpoint).",
    "export": "On the command line: --no-export.",
    "tensorboard": "On the command line: --no-tensorboard.",
    "output_dir": "Pick a folder you can write to with --output-dir.",
    "export_dir": "Pick a folder you can write to with --export-dir, or pass --no-export.",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows every value flag's default, unless it is None (the help then says what None
    means) or the help already names it; flags without a value (--resume) show none."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if action.nargs != 0 and default not in (None, argparse.SUPPRESS) and "default" not in text:
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
            text += f" (default: {shown.replace('%', '%%')})"  # a list as it is typed
        return text


def parser(prog, description, task_options):
    """The shared flags in groups "data" (the image-data options every task has; the app
    adds where its data comes from), "model", "training recipe" and "output"; returns
    `(parser, groups)` with the groups by name. `task_options` (a class of
    `keras_resnets.tasks.options`) gives the default model and the input-side rule."""
    p = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter,
        epilog="More in README.md.",
    )  # fmt: skip
    groups = {name: p.add_argument_group(name) for name in ("data", "model", "training recipe", "output")}
    add = groups["data"].add_argument
    add("--tfds-dir", help="tensorflow-datasets storage folder; default: its own")
    add("--max-images", type=int, help="use at most this many images per split (quick trials); default: all")
    add("--cache", choices=CACHE_MODES, help="decoded images: 'memory' keeps them after the "
        "first epoch, 'stream' decodes them again every epoch (memory stays flat), 'auto' keeps them when "
        "they fit half the available memory (the log says which)")  # fmt: skip
    add = groups["model"].add_argument
    add("--model", help=f"any name of keras_resnets.list_models(); default: {task_options.default_model}")
    add("--weights", help="'none' (from scratch), a weights tag of the model (imagenet, cifar10, "
        "...; see keras_resnets.model_info(name)['weights']) or a backbone weights file; default: "
        "'imagenet' when the model has it, else its first tag, else none")  # fmt: skip
    add("--preprocessing", choices=PREPROCESSING_MODES,
        help="input preprocessing (a layer inside the model); default: the weights' own")  # fmt: skip
    add("--image-size", type=int, help=task_options.input_side.describe())
    add = groups["training recipe"].add_argument
    add("--head-epochs", type=int, help="phase 1: epochs on the head alone (pretrained)")
    add("--epochs", type=int, help="phase 2 epochs (backbone partly unfrozen); with --weights none: all epochs")
    add("--unfreeze", help="phase 2: number of top stages to train, or 'all'")
    add("--optimizer", choices=tuple(DEFAULT_LR), help="AdamW, or SGD with Nesterov momentum 0.9")
    add("--lr", type=float, help="peak learning rate of phase 1 (or from scratch); default: "
        + ", ".join(f"{lr:g} for {name}" for name, lr in DEFAULT_LR.items()))  # fmt: skip
    add("--finetune-lr", type=float, help="peak learning rate of phase 2; default: lr / 10")
    add("--weight-decay", type=float, help="decoupled weight decay (not on BN and biases); default: "
        + ", ".join(f"{wd:g} for {name}" for name, wd in DEFAULT_WEIGHT_DECAY.items()))  # fmt: skip
    add("--warmup-epochs", type=float, help="linear warm-up per phase, then cosine decay")
    add("--batch-size", type=int, help="images per training step; with --distribute, the global batch, "
        "split over the replicas (--lr is that of the global batch)")  # fmt: skip
    add("--steps-per-epoch", type=int, help="training batches per epoch; default: one pass")
    add("--seed", type=int, help="seeds weights init, shuffling, augmentation")
    add("--mixed-precision", action=argparse.BooleanOptionalAction,
        help="mixed_bfloat16 on CPU, mixed_float16 on GPU (the head stays float32); default: on "
        "where the hardware computes in that type natively (AVX512-BF16/AMX CPUs, GPUs of "
        "compute capability 7.0+), off elsewhere")  # fmt: skip
    add("--drop-path", type=float, help="stochastic depth: the last residual block's drop rate, timm's "
        "linear rule from 0 at the first; from scratch only (pretrained backbones train in inference mode)")
    add("--accumulate-steps", type=int, help="average the gradients of this many batches into one "
        "update (effective batch: --batch-size x N; the schedule still counts batches). BatchNorm "
        "statistics stay per batch, so with BatchNorm it is close to, not equal to, the larger batch")
    add("--distribute", choices=DISTRIBUTE_MODES, help="data: data parallel over every device (JAX "
        "DataParallel, TensorFlow MirroredStrategy; not PyTorch); auto: data when there are several "
        "local GPUs/TPUs, else none")
    add("--sync-bn", action="store_true", help="TensorFlow data parallel: BatchNorm statistics over "
        "the global batch, not per replica (JAX always uses the global batch)")
    add("--coordinator-address", help="several hosts (JAX): process 0's HOST:PORT, the same on every "
        "process; default: $KERAS_DISTRIBUTION_JOB_ADDRESSES")
    add("--num-processes", type=int, help="several hosts (JAX): how many processes train together; "
        "default: $KERAS_DISTRIBUTION_NUM_PROCESSES, else 1")
    add("--process-id", type=int, help="several hosts (JAX): this process's id, 0 (the chief, which "
        "writes the run's files) to --num-processes - 1; default: $KERAS_DISTRIBUTION_PROCESS_ID, else 0")
    add = groups["output"].add_argument
    add("--run-name", help="default: <model>-<dataset>-<weights>-<size>px (so a rerun resumes)")
    add("--output-dir", help="runs go to <output-dir>/<run-name>/")
    add("--resume", action="store_true", help="continue <run-name> with its saved options")
    add("--overwrite", action="store_true", help="discard <run-name>'s checkpoints first")
    add("--keep-checkpoint", action="store_true",
        help="keep the last checkpoint (weights and optimizer state, about 3x the model) when the run "
        "has finished and its export passed; by default it is deleted then (the export holds the "
        "trained model), and rerunning the command is refused instead of re-evaluating")  # fmt: skip
    add("--export-dir", help=f"default: {EXPORT_ROOT}/<run-name>")
    add("--no-export", dest="export", action="store_false", help="skip export and its checks")
    add("--export-tolerance", type=float, help="max abs difference of exported vs Keras outputs")
    add("--export-images", type=int, help="test images used for the checks")
    add("--export-timing-runs", type=int,
        help=f"calls per speed figure (latency, images/s) in the export report (default {RUN_TIMING_RUNS}; 0: none)")  # fmt: skip
    add("--no-tflite-metadata", dest="tflite_metadata", action="store_false",
        help="export the .tflite without MediaPipe Tasks metadata (and without its MediaPipe check)")  # fmt: skip
    add("--quiet", dest="progress", action="store_const", const="lines",
        help="one line per epoch, no progress bar (the default when output is not a terminal)")  # fmt: skip
    add("--log-every-steps", type=int, help="with line output, also a line every this many steps")
    add("--no-tensorboard", dest="tensorboard", action="store_false",
        help="write no TensorBoard event files (by default <output-dir>/<run-name>/train/ and validation/; "
        "tensorboard --logdir <output-dir> shows every run)")  # fmt: skip
    return p, groups


def parse(p, task_options, argv=None):
    """The options `argv` gives, as a dict of field names, every default read from the
    fields of `RunConfig` and `task_options`. A flag of `p` whose `dest` names no field
    is a programming error, raised before anything is parsed."""
    fields = {f.name: f for cls in (RunConfig, task_options) for f in dataclasses.fields(cls)}
    actions = [a for a in p._actions if a.dest != "help"]
    stray = [a.option_strings[0] for a in actions if a.dest not in fields]
    if stray:
        raise TypeError(f"{p.prog}: {', '.join(stray)} set no option of RunConfig or {task_options.__name__}.")
    p.set_defaults(**{a.dest: fields[a.dest].default for a in actions})
    return vars(p.parse_args(argv))


def main(p, options, task_options, load_task, advice=None):
    """Checks `options` (from `parse`), then trains the task; returns the exit status.

    `load_task` returns the task class (a subclass of `task_options`): it is called only
    once the options have passed their checks, since the task imports TensorFlow.
    `advice` adds the app's own flag advice by option name to `ADVICE`.
    """
    flags = {a.dest: a.option_strings[0] for a in p._actions if a.option_strings}
    advice = {**ADVICE, **(advice or {})}

    def refuse(exc):
        option = getattr(exc, "option", "weights")  # unavailable weights: the only OSError here
        hint = advice.get(option) or (f"See {flags[option]}." if option in flags else "")
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        if hint:  # on a line of its own: messages may end with a list of files
            print(hint, file=sys.stderr)
        return EXIT_USAGE

    try:
        checked, config = from_options(task_options, options)
        check_writable(config)
    except OptionError as exc:
        return refuse(exc)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("keras_resnets").setLevel(logging.INFO)
    import_backend()
    from keras_resnets import export, training
    from keras_resnets.weights import WeightsUnavailableError

    task = load_task()(**{f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)})
    try:
        training.run(task, config)
    except (OptionError, WeightsUnavailableError) as exc:
        return refuse(exc)
    except export.ExportVerificationError as exc:
        print(f"{p.prog}: export check failed: {exc}", file=sys.stderr)
        return EXIT_EXPORT
    return 0


def import_backend():
    """Imports Keras and its backend, and TensorFlow where it is installed (the data
    pipelines use it under every backend), without their start-up noise.

    TensorFlow writes lines to stderr before its logging is set up (absl's "All log
    messages before absl::InitializeLog()", oneDNN, "Could not find cuda drivers"), and
    a machine without a GPU logs "E0000 ... failed call to cuInit" when devices are
    first listed; no log level hides those. So stderr's file descriptor points at a
    temporary file meanwhile, which is replayed if the import fails; afterwards
    TF_CPP_MIN_LOG_LEVEL=2 keeps TensorFlow's info and warnings out and its errors in.
    Does nothing of this where the user set TF_CPP_MIN_LOG_LEVEL: they asked for what
    that level shows.
    """
    if USER_LOG_LEVEL is not None:
        import keras  # noqa: F401

        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with _stderr_captured() as captured:
        try:
            if importlib.util.find_spec("tensorflow") is not None:
                import tensorflow as tf

                tf.config.list_physical_devices()
            import keras  # noqa: F401
        except BaseException:
            captured.replay = True
            raise


@contextlib.contextmanager
def _stderr_captured():
    class Captured:
        replay = False

    captured = Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if captured.replay:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
