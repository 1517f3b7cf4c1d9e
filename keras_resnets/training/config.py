"""What a training run does: `RunConfig`, and `resolve`, which fills the defaults that
depend on the model and its weights.

A `RunConfig` as written by a caller may leave `weights`, `preprocessing`, `image_size`,
the learning rates, the weight decay, `run_name` and `export_dir` as None. `resolve`
returns a new, complete config (the caller's object is never changed), so that the run
folder's `config.json` records what was actually trained.
"""

import dataclasses
import os
from pathlib import Path
from typing import Optional

import keras_resnets as kr
from keras_resnets import weights as weights_lib
from keras_resnets.export.checks import DEFAULT_TOLERANCE
from keras_resnets.training import precision, recipe
from keras_resnets.training.errors import ConfigError

# Default input size when training from scratch: small enough for a CPU.
SCRATCH_SIZE = 128
MIN_IMAGE_SIZE = 32
PROGRESS_MODES = ("auto", "bar", "lines", "none")
DEFAULT_WEIGHT_DECAY = {"adamw": 0.05, "sgd": 1e-4}

# Options that define what a run computes: a run folder resumes only with the same ones.
IDENTITY = (
    "model", "weights", "preprocessing", "image_size", "head_epochs", "epochs", "unfreeze",
    "optimizer", "lr", "finetune_lr", "weight_decay", "warmup_epochs", "batch_size",
    "steps_per_epoch", "seed", "mixed_precision",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Options of a run that do not depend on the task (see `keras_resnets.tasks`).

    weights: None (the model's default tag, else its first tag, else "none"), "none"
        (from scratch, one phase), a weights tag, or a backbone weights file (two phases:
        head, then fine-tuning).
    unfreeze: the number of top backbone stages trained in the fine-tuning phase, or "all".
    progress: "bar" (Keras' progress bar), "lines" (one line per epoch, for logs), "auto"
        (the bar on a terminal, lines otherwise) or "none" (silent).
    log_every_steps: with line progress, also a line every that many training steps.
    mixed_precision: None decides by the hardware (`precision.auto_mixed_precision`).
    """

    model: str = "resnet50v2"
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
    export_tolerance: float = DEFAULT_TOLERANCE
    export_images: int = 32
    progress: str = "auto"
    log_every_steps: Optional[int] = None

    @property
    def pretrained(self):
        return self.weights != "none"

    @property
    def backbone_weights(self):
        """The `weights` argument of `create_model`."""
        return None if self.weights == "none" else self.weights

    @property
    def run_dir(self):
        return Path(self.output_dir) / self.run_name

    def identity(self):
        return {key: getattr(self, key) for key in IDENTITY}


def from_options(task_class, options):
    """(task, RunConfig) from one flat dict of options, such as a parsed command line.

    Each takes the keys named like its fields; keys that neither has are ignored.
    """

    def pick(cls):
        return cls(**{f.name: options[f.name] for f in dataclasses.fields(cls) if f.name in options})

    return pick(task_class), pick(RunConfig)


def resolve_weights(name, weights):
    """(weights argument for create_model, pretrained?, preprocessing mode, default image size).

    `weights` is "none", a tag of the weights table, or a path to a backbone weights file:
    `keras_resnets.weights.select` answers, as for every constructor; from scratch, the
    default size is at most SCRATCH_SIZE.
    """
    try:
        spec = kr.get_spec(name)
    except ValueError as exc:
        raise ConfigError(str(exc), "model") from None
    try:
        chosen = weights_lib.select(spec, weights)
    except ValueError:  # said in the command lines' terms
        tags = weights_lib.available(spec.registry_name)
        raise ConfigError(
            f"weights {weights!r} is neither a weights tag of {name} "
            f"({', '.join(tags) or 'it has none'}), 'none', nor an existing file.",
            "weights",
        ) from None
    size = chosen.resolution if chosen.pretrained else min(chosen.resolution, SCRATCH_SIZE)
    return chosen.weights, chosen.pretrained, chosen.preprocessing, size


def default_weights(model):
    """The model's default weights (`keras_resnets.weights.select`), "none" for random."""
    return weights_lib.select(kr.get_spec(model)).weights or "none"


def resolve(config, data_name):
    """A complete copy of `config`; `data_name` names the data in the default run name."""
    try:
        model = kr.get_spec(config.model).registry_name
    except ValueError as exc:
        raise ConfigError(str(exc), "model") from None
    weights = os.fspath(config.weights) if config.weights is not None else default_weights(model)
    _, pretrained, preprocessing, size = resolve_weights(model, weights)
    image_size = config.image_size or size
    if image_size < MIN_IMAGE_SIZE:
        raise ConfigError(
            f"image_size must be at least {MIN_IMAGE_SIZE}; got {image_size}.", "image_size"
        )
    unfreeze = str(config.unfreeze)
    if unfreeze != "all" and not unfreeze.isdigit():
        raise ConfigError(f"unfreeze takes a number of stages or 'all'; got {unfreeze!r}.", "unfreeze")
    if config.optimizer not in recipe.DEFAULT_LR:
        raise ConfigError(
            f"Unknown optimizer {config.optimizer!r}; use one of {tuple(recipe.DEFAULT_LR)}.",
            "optimizer",
        )
    if config.progress not in PROGRESS_MODES:
        raise ConfigError(f"progress is one of {PROGRESS_MODES}; got {config.progress!r}.", "progress")
    if pretrained and not (config.head_epochs or config.epochs):
        raise ConfigError("Nothing to train: head_epochs and epochs are both 0.", "epochs")
    lr = config.lr or recipe.DEFAULT_LR[config.optimizer]
    weight_decay = config.weight_decay
    if weight_decay is None:
        weight_decay = DEFAULT_WEIGHT_DECAY[config.optimizer]
    mixed_precision = config.mixed_precision
    if mixed_precision is None:
        mixed_precision = precision.auto_mixed_precision()[0]
    run_name = config.run_name
    if run_name is None:
        label = weights if weights == "none" or weights_lib.find(model, weights) else Path(weights).stem
        run_name = f"{model}-{data_name}-{label}-{image_size}px"
    return dataclasses.replace(
        config,
        model=model,
        weights=weights,
        preprocessing=config.preprocessing or preprocessing,
        image_size=image_size,
        unfreeze=unfreeze,
        lr=lr,
        finetune_lr=config.finetune_lr or lr / 10,
        weight_decay=weight_decay,
        mixed_precision=bool(mixed_precision),
        run_name=run_name,
        output_dir=os.fspath(config.output_dir),
        export_dir=os.fspath(config.export_dir or Path("saved_models") / run_name),
    )
