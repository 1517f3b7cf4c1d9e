"""The fine-tuning recipe: phases, optimizer and learning-rate schedule.

Pretrained weights (keras.io's transfer-learning recipe):
  1. "head": the backbone frozen, only the task's new layers train (`head_epochs`, `lr`);
  2. "finetune": the top `unfreeze` stages (or all) train too, at `finetune_lr` (10x lower
     by default), BatchNorm still in inference mode (tasks call a pretrained backbone with
     `training=False`).
From scratch (weights "none") there is one phase, "scratch", that trains everything.

Each phase has its own optimizer with a linear warm-up and a cosine decay to zero over
the phase; the step counter (`optimizer.iterations`) is saved in every checkpoint, so a
resumed run continues at the same point of the schedule.
"""

import dataclasses

import keras

from keras_resnets.training.freezing import set_trainable


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


def make_optimizer(kind, lr, total_steps, warmup_steps, weight_decay, accumulate_steps=1):
    """`total_steps` and `warmup_steps` count batches: Keras evaluates the schedule at the
    batch counter even when `accumulate_steps` batches make one update, so the schedule
    spans the phase whatever the accumulation."""
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=lr,
        warmup_steps=warmup_steps,
    )
    # Keras refuses 1 (its "no accumulation" is None).
    accumulation = {"gradient_accumulation_steps": accumulate_steps} if accumulate_steps > 1 else {}
    if kind == "adamw":
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay, **accumulation)
    elif kind == "sgd":
        optimizer = keras.optimizers.SGD(
            schedule, momentum=0.9, nesterov=True, weight_decay=weight_decay, **accumulation
        )
    else:
        raise ValueError(f"Unknown optimizer {kind!r}; use adamw or sgd.")
    # Decaying BatchNorm scales and biases towards zero only hurts.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def compile_for(
    model, phase, steps_per_epoch, *, optimizer, warmup_epochs, weight_decay, accumulate_steps=1, **compile_args
):
    """Freezes for `phase` and compiles with a fresh optimizer whose schedule spans the phase.

    `compile_args` are the task's (`Task.compile_args`): `loss` and `metrics` for most
    models, whatever else a task model's own `compile` takes (e.g. a detector's box loss).
    """
    set_trainable(model, phase.unfreeze)
    steps = steps_per_epoch * (phase.end - phase.start)
    warmup_steps = warmup_epochs * steps_per_epoch
    model.compile(
        optimizer=make_optimizer(optimizer, phase.lr, steps, warmup_steps, weight_decay, accumulate_steps),
        **compile_args,
    )
    # Creates the optimizer's slots now, so that a checkpoint can be loaded into them.
    model.optimizer.build(model.trainable_variables)
