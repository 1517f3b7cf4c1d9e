"""The command line every training app shares (finetune, segment, detect).

An app builds its parser with `parser(...)`, adds its task's own flags to the "data" group
(and any other), and hands the parsed arguments to `main(...)`, which makes the task and
`RunConfig` from them, runs `keras_resnets.training.run` and turns library errors into one
line of advice about the flag at fault. The library's errors state facts; the flag advice
lives here, with the flags.

Exit status: 0 done, 2 bad input or options, 3 an exported artifact failed its check.
"""

import argparse
import logging
import sys

from keras_resnets import export, imagenet
from keras_resnets.training import config as config_lib
from keras_resnets.training.errors import OptionError
from keras_resnets.weights import WeightsUnavailableError

EXIT_USAGE, EXIT_EXPORT = 2, 3
# What to do about a library error, by the option it names; others get "See --<option>.".
ADVICE = {
    "weights": "Here: --weights PATH, or --weights none to train from scratch.",
    "run_name": "Resume it with the same options (or --resume), pick another --run-name, "
    "or pass --overwrite to start it again.",
    "resume": "--resume needs --run-name of an existing run (and its --output-dir).",
    "export": "On the command line: --no-export.",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows a default only where it says something and the help text does not already."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def parser(prog, description, default_model, image_size_help=None):
    """The shared flags in groups "data" (empty: the task's), "model", "training recipe" and
    "output"; returns `(parser, groups)` with the groups by name. `image_size_help` replaces
    the help of --image-size for a task with its own rule."""
    p = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter,
        epilog="More in README.md.",
    )  # fmt: skip
    groups = {name: p.add_argument_group(name) for name in ("data", "model", "training recipe", "output")}
    add = groups["model"].add_argument
    add("--model", default=default_model, help="any name of keras_resnets.list_models()")
    add("--weights", help="'none' (from scratch), a weights tag of the model (imagenet, cifar10, "
        "...; see keras_resnets.model_info(name)['weights']) or a backbone weights file; default: "
        "'imagenet' when the model has it, else its first tag, else none")  # fmt: skip
    add("--preprocessing", choices=imagenet.MODES,
        help="input preprocessing (a layer inside the model); default: the weights' own")  # fmt: skip
    add("--image-size", type=int, help=image_size_help or "input side in pixels; default: the weights' "
        f"resolution, {config_lib.SCRATCH_SIZE} (or the model's smaller default size) with --weights none")  # fmt: skip
    add = groups["training recipe"].add_argument
    add("--head-epochs", type=int, default=2, help="phase 1: epochs on the head alone (pretrained)")
    add("--epochs", type=int, default=8,
        help="phase 2 epochs (backbone partly unfrozen); with --weights none: all epochs")  # fmt: skip
    add("--unfreeze", default="2", help="phase 2: number of top stages to train, or 'all'")
    add("--optimizer", choices=("adamw", "sgd"), default="adamw")
    add("--lr", type=float, help="peak learning rate of phase 1 (or from scratch); default: "
        "1e-3 for adamw, 1e-2 for sgd")  # fmt: skip
    add("--finetune-lr", type=float, help="peak learning rate of phase 2; default: lr / 10")
    add("--weight-decay", type=float, help="decoupled weight decay (not on BN and biases); "
        "default: 0.05 for adamw, 1e-4 for sgd")  # fmt: skip
    add("--warmup-epochs", type=float, default=1.0, help="linear warm-up per phase, then cosine decay")
    add("--batch-size", type=int, default=32)
    add("--steps-per-epoch", type=int, help="training batches per epoch (default: one pass)")
    add("--seed", type=int, default=0, help="seeds weights init, shuffling, augmentation")
    add("--mixed-precision", action=argparse.BooleanOptionalAction,
        help="mixed_bfloat16 on CPU, mixed_float16 on GPU (the head stays float32); default: on "
        "where the hardware computes in that type natively (AVX512-BF16/AMX CPUs, GPUs of "
        "compute capability 7.0+), off elsewhere")  # fmt: skip
    add = groups["output"].add_argument
    add("--run-name", help="default: <model>-<dataset>-<weights>-<size>px (so a rerun resumes)")
    add("--output-dir", default="runs", help="runs go to <output-dir>/<run-name>/")
    add("--resume", action="store_true", help="continue <run-name> with its saved options")
    add("--overwrite", action="store_true", help="discard <run-name>'s checkpoints first")
    add("--export-dir", help="default: saved_models/<run-name>")
    add("--no-export", action="store_true", help="skip export and its checks")
    add("--export-tolerance", type=float, default=export.DEFAULT_TOLERANCE,
        help="max abs difference of exported vs Keras outputs")  # fmt: skip
    add("--export-images", type=int, default=32, help="test images used for the checks")
    add("--quiet", action="store_true",
        help="one line per epoch, no progress bar (the default when output is not a terminal)")  # fmt: skip
    add("--log-every-steps", type=int, help="with line output, also a line every this many steps")
    return p, groups


def main(prog, task_class, args, options=None, advice=None):
    """Runs the task the parsed `args` describe; returns the exit status.

    `options` override or add to `vars(args)` (e.g. flags whose meaning is inverted);
    `advice` adds the app's own flag advice by option name to `ADVICE`.
    """
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("keras_resnets").setLevel(logging.INFO)
    from keras_resnets import training

    task, config = config_lib.from_options(task_class, {
        **vars(args),
        "export": not args.no_export,
        "progress": "lines" if args.quiet else "auto",
        **(options or {}),
    })  # fmt: skip
    advice = {**ADVICE, **(advice or {})}
    try:
        training.run(task, config)
    except (OptionError, WeightsUnavailableError) as exc:
        option = getattr(exc, "option", "weights")  # unavailable weights: the only OSError here
        hint = advice.get(option, f"See --{option.replace('_', '-')}." if option else "")
        print(f"{prog}: error: {exc} {hint}".rstrip(), file=sys.stderr)
        return EXIT_USAGE
    except export.ExportVerificationError as exc:
        print(f"{prog}: export check failed: {exc}", file=sys.stderr)
        return EXIT_EXPORT
    return 0
