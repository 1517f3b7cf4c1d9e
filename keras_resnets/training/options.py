"""What a training run takes: `RunConfig`, the rules its values obey, and `from_options`.

This module imports nothing heavier than the standard library, so that a command line
refuses a bad option in a fraction of a second, before TensorFlow (about 10 s) loads.
Values are checked when a `RunConfig` is made: 0 is a value like any other (`lr=0` is
refused, not replaced by the default); None, where a field allows it, means "the default
that depends on the model, its weights or the task", which `config.resolve` fills in.
"""

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Optional

# Keras-free: core.modes is a literal, export.checks and export.report need only NumPy
# (export/ loads lazily).
from keras_resnets.core.modes import PREPROCESSING_MODES
from keras_resnets.export.checks import DEFAULT_TOLERANCE as EXPORT_TOLERANCE
from keras_resnets.export.report import RUN_TIMING_RUNS
from keras_resnets.training.errors import ConfigError

# Default input size when training from scratch: small enough for a CPU.
SCRATCH_SIZE = 128
MIN_IMAGE_SIZE = 32  # keras.applications' smallest input
PROGRESS_MODES = ("auto", "bar", "lines", "none")
DEFAULT_LR = {"adamw": 1e-3, "sgd": 1e-2}
DEFAULT_WEIGHT_DECAY = {"adamw": 0.05, "sgd": 1e-4}
# "auto": data parallel over the local accelerators when there are several, else none.
DISTRIBUTE_MODES = ("auto", "none", "data")
CACHE_MODES = ("auto", "memory", "stream")  # decoded images: see `tasks.image_cache`
EXPORT_ROOT = "saved_models"  # the default export goes to <EXPORT_ROOT>/<run_name>

# Options that define what a run computes: a run folder resumes only with the same ones.
IDENTITY = (
    "model", "weights", "preprocessing", "image_size", "head_epochs", "epochs", "unfreeze",
    "optimizer", "lr", "finetune_lr", "weight_decay", "warmup_epochs", "batch_size",
    "steps_per_epoch", "seed", "mixed_precision", "drop_path", "accumulate_steps", "sync_bn",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class InputSide:
    """A task's rule for the side of its square input (`RunConfig.image_size`).

    At least `minimum` pixels and a multiple of `multiple` (`why` says whose stride asks
    for it); `default` is the task's own size, None for the weights' resolution.
    """

    minimum: int = MIN_IMAGE_SIZE
    multiple: int = 1
    why: str = ""
    default: Optional[int] = None

    def check(self, size):
        if size < self.minimum:
            raise ConfigError(f"image_size must be at least {self.minimum}; got {size}.", "image_size")
        if size % self.multiple:
            near = max(self.multiple, round(size / self.multiple) * self.multiple)
            raise ConfigError(
                f"image_size is a multiple of {self.multiple} for {self.why}; got {size}: use {near}.",
                "image_size",
            )
        return size

    def describe(self):
        """The rule and the default, for a command line's help."""
        rule = f", a multiple of {self.multiple}" if self.multiple > 1 else ""
        if self.default is not None:
            return f"input side in pixels{rule}; default: {self.default}"
        return (
            f"input side in pixels{rule}; default: the weights' resolution, {SCRATCH_SIZE} (or the "
            "model's smaller default size) with --weights none"
        )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Options of a run that do not depend on the task (see `keras_resnets.tasks`).

    model: a registry name; None: the task's `default_model`.
    weights: None (the model's default tag, else its first tag, else "none"), "none"
        (from scratch, one phase), a weights tag, or a backbone weights file (two phases:
        head, then fine-tuning).
    image_size: None: the task's own default, else the weights' resolution (the task's
        `input_side` rule says which, and what it accepts).
    unfreeze: the number of top backbone stages trained in the fine-tuning phase, or "all".
    lr, finetune_lr, weight_decay: None: `DEFAULT_LR`, lr / 10, `DEFAULT_WEIGHT_DECAY`.
    progress: "bar" (Keras' progress bar), "lines" (one line per epoch, for logs), "auto"
        (the bar on a terminal, lines otherwise) or "none" (silent).
    log_every_steps: with line progress, also a line every that many training steps.
    mixed_precision: None decides by the hardware (`precision.auto_mixed_precision`).
    drop_path: stochastic depth of the backbone's residual blocks (`Spec.drop_path_rate`,
        timm's linear rule); trains from scratch only: a pretrained backbone runs in
        inference mode, where nothing is dropped.
    accumulate_steps: batches whose gradients are averaged into one optimizer update
        (Keras' `gradient_accumulation_steps`): an effective batch of batch_size times it.
    distribute: "none", "data" (data parallel over every device: `training.distribute`) or
        "auto" (data parallel when there are several local accelerators, else none). The
        batch_size is the global batch, split over the replicas; lr is that of it.
    sync_bn: BatchNorm statistics over the global batch under TensorFlow's data parallel
        (JAX computes them over the global batch anyway).
    coordinator_address, num_processes, process_id: a run over several processes (hosts;
        JAX only): process 0's "host:port", their number, and this one's id in [0,
        num_processes). None: Keras' KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and
        _PROCESS_ID, else one process (`distribute.initialize`).
    keep_checkpoint: keep the last checkpoint (weights and optimizer state, about three
        times the model) when the run has finished and its export passed; by default it is
        deleted then, since the exported `model.keras` holds the trained weights.
    tensorboard: write TensorBoard event files into the run folder (`tensorboard_events`);
        needs the `tensorboard` package, and a run without it is refused before it starts.
    """

    model: Optional[str] = None
    weights: Optional[str] = None
    preprocessing: Optional[str] = None
    image_size: Optional[int] = None
    head_epochs: int = 2
    epochs: int = 8
    unfreeze: str = "2"
    optimizer: str = "adamw"
    lr: Optional[float] = None
    finetune_lr: Optional[float] = None
    weight_decay: Optional[float] = None
    warmup_epochs: float = 1.0
    batch_size: int = 32
    steps_per_epoch: Optional[int] = None
    seed: int = 0
    mixed_precision: Optional[bool] = None
    run_name: Optional[str] = None
    output_dir: str = "runs"
    resume: bool = False
    overwrite: bool = False
    export: bool = True
    export_dir: Optional[str] = None
    export_tolerance: float = EXPORT_TOLERANCE
    export_images: int = 32
    export_timing_runs: int = RUN_TIMING_RUNS  # calls per speed figure in the export report; 0: none
    tflite_metadata: bool = True  # MediaPipe Tasks metadata in the exported .tflite, checked in MediaPipe
    progress: str = "auto"
    log_every_steps: Optional[int] = None
    keep_checkpoint: bool = False
    tensorboard: bool = True
    drop_path: float = 0.0
    accumulate_steps: int = 1
    distribute: str = "auto"
    sync_bn: bool = False
    coordinator_address: Optional[str] = None
    num_processes: Optional[int] = None
    process_id: Optional[int] = None

    def __post_init__(self):
        for name in ("head_epochs", "epochs", "seed", "warmup_epochs", "weight_decay", "export_tolerance",
                     "export_timing_runs"):  # fmt: skip
            _at_least(self, name, 0)
        # image_size: the task's `input_side` rule checks it (`from_options`, `config.resolve`).
        for name in ("batch_size", "steps_per_epoch", "export_images", "log_every_steps", "accumulate_steps",
                     "num_processes"):  # fmt: skip
            _at_least(self, name, 1)
        _at_least(self, "process_id", 0)
        for name in ("lr", "finetune_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be above 0; got {value}.", name)
        if not 0 <= self.drop_path < 1:
            raise ConfigError(f"drop_path is in [0, 1); got {self.drop_path}.", "drop_path")
        _one_of(self, "distribute", DISTRIBUTE_MODES)
        if self.steps_per_epoch is not None and self.steps_per_epoch % self.accumulate_steps:
            raise ConfigError(
                f"steps_per_epoch ({self.steps_per_epoch}) is a whole number of updates of "
                f"accumulate_steps ({self.accumulate_steps}) batches: use a multiple of it.",
                "steps_per_epoch",
            )
        _one_of(self, "optimizer", tuple(DEFAULT_LR))
        _one_of(self, "progress", PROGRESS_MODES)
        _one_of(self, "preprocessing", PREPROCESSING_MODES)
        unfreeze = str(self.unfreeze)
        if unfreeze != "all" and not unfreeze.isdigit():
            raise ConfigError(f"unfreeze takes a number of stages or 'all'; got {unfreeze!r}.", "unfreeze")

    @property
    def pretrained(self):
        return self.weights != "none"

    @property
    def backbone_weights(self):
        """The `weights` argument of `create_model`."""
        return None if self.weights == "none" else self.weights

    @property
    def backbone_options(self):
        """The `create_model` options of the backbone that training sets (drop path)."""
        return {"drop_path_rate": self.drop_path} if self.drop_path else {}

    @property
    def run_dir(self):
        return Path(self.output_dir) / self.run_name

    def identity(self):
        return {key: getattr(self, key) for key in IDENTITY}


# What a run folder made before an option existed had: the option's default.
IDENTITY_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig) if f.name in IDENTITY}


def _at_least(options, name, minimum):
    value = getattr(options, name)
    if value is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {value}.", name)


def _one_of(options, name, choices):
    value = getattr(options, name)
    if value is not None and value not in choices:
        raise ConfigError(f"{name} is one of {choices}; got {value!r}.", name)


def check_bounds(options, minimums, choices=None, below=None):
    """For a task's options: each field named in `minimums` is None or at least its
    minimum, each in `choices` None or one of its values, each in `below` under its bound."""
    for name, minimum in minimums.items():
        _at_least(options, name, minimum)
    for name, values in (choices or {}).items():
        _one_of(options, name, values)
    for name, bound in (below or {}).items():
        value = getattr(options, name)
        if value is not None and not value < bound:
            raise ConfigError(f"{name} must be below {bound}; got {value}.", name)


def from_options(task_class, options):
    """(task, RunConfig) from one flat dict of options, such as a parsed command line.

    Each takes the keys named like its fields; a key that neither has is an error (a
    misspelt option must not pass unnoticed). An `image_size` is checked against the
    task's `input_side` rule here, before anything is loaded.
    """
    fields = {cls: {f.name for f in dataclasses.fields(cls)} for cls in (task_class, RunConfig)}
    unknown = sorted(set(options) - fields[task_class] - fields[RunConfig])
    if unknown:
        raise ConfigError(
            f"Unknown option(s) {', '.join(unknown)}: neither {task_class.__name__} nor RunConfig "
            "has such a field.",
            unknown[0],
        )

    def pick(cls):
        return cls(**{k: v for k, v in options.items() if k in fields[cls]})

    task, config = pick(task_class), pick(RunConfig)
    if config.image_size is not None:
        task.input_side.check(config.image_size)
    return task, config


def unwritable(path):
    """Why nothing can be written at `path` (a folder that may not exist yet), or None."""
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:  # a real write: permission bits say nothing to root, nor of read-only mounts
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as exc:
        return f"{existing} is not writable ({exc.strerror})"
    return None


def check_writable(config):
    """Fails before any data is loaded or any step trained when the run folder or the
    export folder could not be written."""
    folders = {"output_dir": config.output_dir}
    if config.export:
        folders["export_dir"] = config.export_dir or EXPORT_ROOT
    for option, folder in folders.items():
        problem = unwritable(folder)
        if problem:
            raise ConfigError(f"{option} {os.fspath(folder)!r} cannot be written: {problem}.", option)
