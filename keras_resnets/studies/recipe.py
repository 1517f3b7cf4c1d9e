"""The one small training recipe every study uses, resumable epoch by epoch.

He et al.'s CIFAR recipe, shortened: SGD with Nesterov momentum 0.9, learning rate 0.1
(a linear warm-up over the first epoch, then a cosine decay to zero instead of the
paper's steps at 32k and 48k iterations), decoupled weight decay on the kernels, batch
128, 4-pixel pad-and-crop and horizontal flips. Nets of a study share it exactly, seed
included, so that the architecture is the only difference.

The phase, optimizer, schedule and checkpoints are the training core's
(`keras_resnets.training.recipe` and `checkpoints`: a from-scratch run's single phase),
but not its `run()`, which trains registry models from a task's pipelines and exports
them: a study compares nets that are not in the registry (any depth 6n+2 at any width) on
in-memory arrays, augmented afresh with a per-epoch seed so that a resumed study repeats
its numbers exactly.

Every net trains in its own folder, `<study folder>/<net>/`: after each epoch the
weights, the optimizer state and the history so far are checkpointed
(`keras_resnets.training.checkpoints`: written under temporary names, then renamed), so
the same command run again continues after the last completed epoch; a finished net is
only loaded. A folder made with another recipe is refused.
"""

import dataclasses
import time
from pathlib import Path
from typing import Optional

import keras
import numpy as np

from keras_resnets.studies import data as data_lib
from keras_resnets.studies import nets
from keras_resnets.training import checkpoints
from keras_resnets.training import recipe as training_recipe

EVAL_BATCH = 500


@dataclasses.dataclass(frozen=True)
class Recipe:
    epochs: int = 10
    width: int = nets.PAPER_WIDTH  # filters of the first stage
    batch_size: int = 128
    lr: float = 0.1
    weight_decay: float = 5e-4
    warmup_epochs: int = 1
    train_images: Optional[int] = None  # the first N training images; None: all
    seed: int = 0

    def describe(self, train_count):
        return (
            f"{self.epochs} epoch{'s' * (self.epochs != 1)} on {train_count:,} images, width {self.width}, batch "
            f"{self.batch_size}, SGD lr {self.lr} (warm-up {self.warmup_epochs} epoch, cosine), "
            f"weight decay {self.weight_decay}, crop+flip, seed {self.seed}"
        )


def accuracy(model, images, labels):
    """Top-1 accuracy in [0, 1]."""
    probs = model.predict(images, batch_size=EVAL_BATCH, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) == labels))


def final_weights(folder, name):
    """Where a trained net's weights (no optimizer state) end up: reusable as --weights."""
    return Path(folder) / name / f"{name}.weights.h5"


def train(name, recipe, data, folder, snapshot=None):
    """Trains (or resumes, or loads) net `name`; returns (model, history).

    History rows: epoch, train_error (the running error of the epoch, augmented images, as
    He et al.'s curves), test_error (held-out images), loss, seconds, and whatever
    `snapshot(model)` returns (a dict), which is also taken before training as row 0.
    """
    run_dir = Path(folder) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    images, labels = data.training(recipe.train_images)
    test_images, test_labels, _ = data.evaluation(trained_here=True)
    checkpoints.check_config(run_dir, {"net": name, "data": data.name, **dataclasses.asdict(recipe)})
    keras.utils.set_random_seed(recipe.seed)
    model = nets.build(name, width=recipe.width, classes=len(data.class_names))
    steps = -(-len(labels) // recipe.batch_size)
    (phase,) = training_recipe.plan(False, 0, recipe.epochs, recipe.lr, None, "all")
    training_recipe.compile_for(
        model, phase, steps, optimizer="sgd", warmup_epochs=recipe.warmup_epochs, weight_decay=recipe.weight_decay,
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
    )  # fmt: skip
    state = checkpoints.latest(run_dir)
    if state is not None:
        checkpoints.restore(run_dir, model, state)
        start, history = state["epoch"], state["history"]
        done = "trained already, loaded" if start >= recipe.epochs else f"resuming after epoch {start}"
        print(f"{name}: {done} from {run_dir}")
    else:
        start, history = 0, ([{"epoch": 0, **snapshot(model)}] if snapshot else [])
    for epoch in range(start, recipe.epochs):
        began = time.perf_counter()
        keras.utils.set_random_seed(recipe.seed * 1000 + epoch)  # shuffling: same on resume
        augmented = data_lib.augment(images, np.random.default_rng([recipe.seed, epoch]))
        logs = model.fit(
            augmented, labels, batch_size=recipe.batch_size, epochs=epoch + 1,
            initial_epoch=epoch, verbose=0,
        ).history  # fmt: skip
        row = {
            "epoch": epoch + 1,
            "train_error": 1 - logs["accuracy"][-1],
            "loss": logs["loss"][-1],
            "test_error": 1 - accuracy(model, test_images, test_labels),
            "seconds": time.perf_counter() - began,
            **(snapshot(model) if snapshot else {}),
        }
        history.append(row)
        print(
            f"{name} epoch {epoch + 1}/{recipe.epochs}: train error {row['train_error']:.1%}, "
            f"test error {row['test_error']:.1%} ({len(test_labels):,} held-out images), "
            f"{row['seconds']:.0f} s",
            flush=True,
        )
        step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        checkpoints.save(run_dir, model, {"epoch": epoch + 1, "optimizer_step": step, "history": history})
    # Weights alone (an uncompiled view of the same layers): loadable by nets.build.
    keras.Model(model.inputs, model.outputs, name=model.name).save_weights(final_weights(folder, name))
    return model, history
