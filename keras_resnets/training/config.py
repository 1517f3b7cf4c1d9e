"""`resolve`, which fills the defaults of a `RunConfig` that depend on the model, its
weights and the task.

A `RunConfig` (`options`) as written by a caller may leave `model`, `weights`,
`preprocessing`, `image_size`, the learning rates, the weight decay, `run_name` and
`export_dir` as None. `resolve` returns a new, complete config (the caller's object is never changed), so that the run
folder's `config.json` records what was actually trained.
"""

import dataclasses
import os
from pathlib import Path

import keras_resnets as kr
from keras_resnets import weights as weights_lib
from keras_resnets.core import options
from keras_resnets.training import precision
from keras_resnets.training.errors import ConfigError
from keras_resnets.training.options import (
    DEFAULT_LR,
    DEFAULT_WEIGHT_DECAY,
    EXPORT_ROOT,
    SCRATCH_SIZE,
    InputSide,
)


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


def resolve(config, data_name, task=None):
    """A complete copy of `config`; `data_name` names the data in the default run name.

    `task` (a task, or its options class) gives the defaults and rules that are the
    task's: `default_model` when `config.model` is None, and the `input_side` rule (its
    default size, else the weights' resolution; what it accepts). Without a task: no
    default model, and the generic rule (`InputSide()`).
    """
    name = config.model or getattr(task, "default_model", None)
    if name is None:
        raise ConfigError("No model: model is None and no task gives a default_model.", "model")
    try:
        model = kr.get_spec(name).registry_name
    except ValueError as exc:
        raise ConfigError(str(exc), "model") from None
    side = getattr(task, "input_side", InputSide())
    weights = os.fspath(config.weights) if config.weights is not None else default_weights(model)
    _, pretrained, preprocessing, size = resolve_weights(model, weights)
    image_size = side.check(next(s for s in (config.image_size, side.default, size) if s is not None))
    _check_drop_path(config, model, pretrained)
    if not (config.epochs or (pretrained and config.head_epochs)):
        raise ConfigError("Nothing to train: epochs is 0 (and head_epochs too, or there is no head phase).", "epochs")
    lr = DEFAULT_LR[config.optimizer] if config.lr is None else config.lr
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
        unfreeze=str(config.unfreeze),
        lr=lr,
        finetune_lr=lr / 10 if config.finetune_lr is None else config.finetune_lr,
        weight_decay=weight_decay,
        mixed_precision=bool(mixed_precision),
        run_name=run_name,
        output_dir=os.fspath(config.output_dir),
        export_dir=os.fspath(config.export_dir or Path(EXPORT_ROOT) / run_name),
    )


def _check_drop_path(config, model, pretrained):
    if not config.drop_path:
        return
    if pretrained:
        raise ConfigError(
            "drop_path acts on a backbone that trains in training mode, which is from scratch "
            "(weights 'none'): a pretrained backbone runs in inference mode, where nothing is dropped.",
            "drop_path",
        )
    spec = kr.get_spec(model)
    if "drop_path_rate" not in options.reads(spec.block, spec.stem):
        raise ConfigError(f"{model} ({spec.block!r} blocks) has no residual sum to drop a branch from.", "drop_path")
