"""What a run shows while it trains: Keras' progress bar on a terminal, plain lines elsewhere.

Keras' bar redraws itself with carriage returns, which turns a log file, a CI page or
`| tee` into one very long line. `LineProgress` prints one line per epoch (and, if asked,
one every N steps) instead; `Throughput` adds the training rate and timings both show.
"""

import math
import sys
import time

import keras

# Logged by `Throughput`; the line shows them in its own format.
TIMINGS = ("img/s", "train_time_s", "epoch_time_s")


class Throughput(keras.callbacks.Callback):
    """Adds training images/s to the logs and the progress, and epoch times to the epoch logs.

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


def _values(logs):
    shown = {k: v for k, v in (logs or {}).items() if k not in TIMINGS}
    return ", ".join(f"{k} {float(v):.4g}" for k, v in shown.items())


def _rate(logs):
    rate = float(logs.get("img/s", math.nan))
    return "n/a img/s" if math.isnan(rate) else f"{rate:.1f} img/s"


class LineProgress(keras.callbacks.Callback):
    """One line per epoch, and one every `every_steps` training steps when that is set:

        Epoch 3/8 finetune: accuracy 0.71, loss 0.81, val_accuracy 0.68, val_loss 0.9; 41.2 img/s, 12.3 s

    Place it after `Throughput`, whose numbers it prints. `stream` defaults to the
    `sys.stdout` of the moment, so redirections made after construction are honoured.
    """

    def __init__(self, phase, epochs, every_steps=None, stream=None):
        super().__init__()
        self.phase = phase
        self.epochs = epochs
        self.every_steps = every_steps
        self.stream = stream

    def _print(self, text):
        print(text, file=self.stream or sys.stdout, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and (batch + 1) % self.every_steps == 0:
            self._print(
                f"Epoch {self.epoch + 1}/{self.epochs} {self.phase} step {batch + 1}: "
                f"{_values(logs)}; {_rate(logs or {})}"
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = logs.get("epoch_time_s")
        timing = f", {seconds:.1f} s" if seconds is not None else ""
        self._print(
            f"Epoch {epoch + 1}/{self.epochs} {self.phase}: {_values(logs)}; {_rate(logs)}{timing}"
        )


def uses_lines(progress):
    """Line output for "lines", and for "auto" when stdout is not a terminal."""
    return progress == "lines" or (progress == "auto" and not sys.stdout.isatty())


def callbacks(progress, phase, epochs, batch_size, every_steps=None):
    """(Keras `verbose` for fit, the progress callbacks) for a progress mode of `RunConfig`."""
    shown = [Throughput(batch_size)]
    if progress == "none":
        return 0, shown
    if uses_lines(progress):
        return 0, shown + [LineProgress(phase, epochs, every_steps)]
    return 1, shown
