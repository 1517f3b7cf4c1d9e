"""The fine-tuning recipe: phases, freezing, optimizer, schedule, mixed precision.

Pretrained weights (keras.io's transfer-learning recipe):
  1. "head": the backbone frozen, only the new classifier trains (`--head-epochs`, `--lr`);
  2. "finetune": the top `--unfreeze` stages (or all) train too, at `--finetune-lr`
     (10x lower by default), BatchNorm still in inference mode (see model.build_classifier).
From scratch (`--weights none`) there is one phase, "scratch", that trains everything.

Each phase has its own optimizer with a linear warm-up and a cosine decay to zero over
the phase; the step counter (`optimizer.iterations`) is saved in every checkpoint, so a
resumed run continues at the same point of the schedule.
"""

import dataclasses
import math
import time

import keras

from keras_resnets.training.model import backbone_of, layer_stages

DEFAULT_LR = {"adamw": 1e-3, "sgd": 1e-2}


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    start: int  # first epoch (0-based, global across phases)
    end: int  # one past the last epoch
    lr: float
    unfreeze: str  # "0" (head only), "<N>" top stages, or "all"


def plan(pretrained, head_epochs, epochs, lr, finetune_lr, unfreeze):
    if not pretrained:
        return [Phase("scratch", 0, epochs, lr, "all")]
    phases = []
    if head_epochs:
        phases.append(Phase("head", 0, head_epochs, lr, "0"))
    if epochs:
        phases.append(Phase("finetune", head_epochs, head_epochs + epochs, finetune_lr, unfreeze))
    return phases


def set_trainable(model, unfreeze):
    """Freezes the backbone except its top `unfreeze` stages ("all": nothing frozen)."""
    backbone = backbone_of(model)
    backbone.trainable = unfreeze != "0"
    if unfreeze == "0":
        return
    # Layer by layer: Keras skips the recursive update when the flag seems unchanged.
    stages = layer_stages(backbone)
    first_trainable = min(stages) if unfreeze == "all" else max(stages) - int(unfreeze) + 1
    for layer, stage in zip(backbone.layers, stages):
        layer.trainable = stage >= first_trainable


def make_optimizer(kind, lr, total_steps, warmup_steps, weight_decay):
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=lr,
        warmup_steps=warmup_steps,
    )
    if kind == "adamw":
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    elif kind == "sgd":
        optimizer = keras.optimizers.SGD(
            schedule, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
    else:
        raise ValueError(f"Unknown optimizer {kind!r}; use adamw or sgd.")
    # Decaying BatchNorm scales and biases towards zero only hurts.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def compile_for(model, phase, args, steps_per_epoch):
    set_trainable(model, phase.unfreeze)
    steps = steps_per_epoch * (phase.end - phase.start)
    optimizer = make_optimizer(
        args.optimizer, phase.lr, steps, args.warmup_epochs * steps_per_epoch, args.weight_decay
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    # Creates the optimizer's slots now, so that a checkpoint can be loaded into them.
    model.optimizer.build(model.trainable_variables)


def has_gpu():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def mixed_precision_policy():
    """bfloat16 on CPUs (no loss scaling needed), float16 on GPUs."""
    return "mixed_float16" if has_gpu() else "mixed_bfloat16"


class Throughput(keras.callbacks.Callback):
    """Adds training images/s to the progress bar and epoch wall time to the epoch logs.

    The rate leaves out each epoch's first step, which includes tracing and compiling.
    """

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.first_step_end = None
        self.rate = math.nan

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.train_s = now - self.start
        if self.first_step_end is None:
            self.first_step_end = now
        else:
            self.rate = batch * self.batch_size / (now - self.first_step_end)
        if logs is not None:
            logs["img/s"] = self.rate

    def on_epoch_end(self, epoch, logs=None):
        logs["img/s"] = self.rate
        logs["train_time_s"] = self.train_s
        logs["epoch_time_s"] = time.perf_counter() - self.start
