"""Per-epoch checkpoints that survive SIGKILL, and resuming from them.

A run folder holds `config.json` (the options that define the run: the task's and
`RunConfig.identity()`), one
`epoch-NNNN.weights.h5` (model weights *and* optimizer state, step counter included:
Keras saves the compiled optimizer along with the model) and `checkpoint.json`, which
names that file and carries the epoch, phase and history so far. When a run has finished
and its export passed, `prune` deletes the weights file (about three times the model's
size; the export holds the trained weights) unless `RunConfig.keep_checkpoint`.

Every file is written under a temporary name and then `os.replace`d, and
`checkpoint.json` is replaced only after the weights file it names is complete. A kill
at any instant therefore leaves the previous checkpoint intact: at most the running
epoch is lost.
"""

import json
import math
import os
from pathlib import Path

import keras

from keras_resnets.training import distribute
from keras_resnets.training.errors import RunConfigError

CHECKPOINT = "checkpoint.json"
CONFIG = "config.json"


def write_json(path, obj):
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=_jsonable)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def latest(run_dir):
    """The last complete checkpoint's state, or None; its "weights" is None once `prune`d."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    state = read_json(path)
    if state["weights"] is not None and not (Path(run_dir) / state["weights"]).exists():
        raise FileNotFoundError(f"{path} names {state['weights']}, which is missing.")
    return state


def save(run_dir, model, state):
    run_dir = Path(run_dir)
    name = f"epoch-{state['epoch']:04d}.weights.h5"
    tmp = run_dir / f".tmp-{name}"
    model.save_weights(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, run_dir / name)
    write_json(run_dir / CHECKPOINT, {**state, "weights": name})
    for old in run_dir.glob("epoch-*.weights.h5"):
        if old.name != name:
            old.unlink()


def restore(run_dir, model, state):
    """Loads weights and optimizer state; the model must be compiled for the saved phase."""
    model.load_weights(Path(run_dir) / state["weights"])
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if step != state["optimizer_step"]:
        raise RuntimeError(
            f"Restored optimizer step {step}, but the checkpoint was saved at step "
            f"{state['optimizer_step']}."
        )


def clear(run_dir):
    """Removes checkpoints and partial files (to start a run again), keeping nothing stale."""
    run_dir = Path(run_dir)
    for pattern in (CHECKPOINT, CONFIG, "epoch-*.weights.h5", ".tmp-*"):
        for path in run_dir.glob(pattern):
            path.unlink()


def prune(run_dir):
    """Deletes a finished run's last checkpoint (weights and optimizer state); returns its
    size in bytes. `checkpoint.json` stays, its "weights" None, so that the run folder still
    says how far the run went and a rerun is refused rather than trained again."""
    state = latest(run_dir)
    if state is None or state["weights"] is None:
        return 0
    path = Path(run_dir) / state["weights"]
    size = path.stat().st_size
    write_json(Path(run_dir) / CHECKPOINT, {**state, "weights": None})
    path.unlink()
    return size


def check_can_continue(run_dir, config, defaults=None):
    """Raises `RunConfigError` unless `run_dir` is new, or holds a run made with the same
    options that still has its checkpoint; writes nothing. An option that the saved run
    does not record predates it, so that run had its default (`defaults`)."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        return
    saved = {**(defaults or {}), **read_json(path)}
    changed = {k: (saved.get(k), v) for k, v in config.items() if saved.get(k) != v}
    if changed:
        diff = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise RunConfigError(f"{run_dir} holds a run made with other options ({diff}).")
    state = latest(run_dir)
    if state is not None and state["weights"] is None:
        raise RunConfigError(
            f"{run_dir} holds a finished run whose last checkpoint was deleted when it ended "
            "(the exported model.keras holds its trained weights).",
            "keep_checkpoint",
        )


def check_config(run_dir, config, defaults=None):
    """Records `config` for a new run; for an existing one, insists that it matches."""
    path = Path(run_dir) / CONFIG
    if path.exists():
        check_can_continue(run_dir, config, defaults)
    else:
        write_json(path, config)


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch, with the history so far."""

    def __init__(self, run_dir, phase_name, history, write=True):
        super().__init__()
        self.write = write  # False on every process but the chief: it keeps the history only
        self.run_dir = run_dir
        self.phase_name = phase_name
        self.history = history  # list of per-epoch dicts, shared with the caller

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, "phase": self.phase_name, **_floats(logs)})
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        state = {
            "epoch": epoch + 1,
            "phase": self.phase_name,
            "optimizer_step": step,
            "history": self.history,
        }
        if self.write:
            with distribute.local():
                save(self.run_dir, self.model, state)


def _floats(logs):
    """Epoch logs as JSON numbers; NaN (e.g. no rate for a one-step epoch) becomes null."""
    values = {k: float(v) for k, v in (logs or {}).items()}
    return {k: None if math.isnan(v) else v for k, v in values.items()}
