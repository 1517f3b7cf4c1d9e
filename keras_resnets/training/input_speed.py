"""Whether decoding or the model sets a run's pace: the training pipeline's own images/s (no
model: reading, decoding, augmenting and batching), measured before training, against the
rate of the first epoch trained.

The pipeline alone has every core to itself; while training it shares them with the model,
so its rate here is an upper bound, and a pipeline measured below `HEADROOM` times the
training rate is named as the bottleneck.
"""

import itertools
import logging
import time

import keras

log = logging.getLogger(__name__)

BUDGET_S = 2.0  # at most this long before the first step, for every run
MAX_BATCHES = 20
HEADROOM = 1.25


def measure(batches, batch_size, budget_s=BUDGET_S, max_batches=MAX_BATCHES):
    """Images/s of a fresh iterator over `batches`, from its second batch (the first fills
    the shuffle buffer) for `max_batches` batches or `budget_s` seconds, whichever ends
    first; None when it gives fewer than two batches."""
    iterator = iter(batches)
    if next(iterator, None) is None:
        return None
    start = time.perf_counter()
    count = 0
    for count, _ in enumerate(itertools.islice(iterator, max_batches), 1):
        if time.perf_counter() - start > budget_s:
            break
    seconds = time.perf_counter() - start
    return count * batch_size / seconds if count else None


def decoding_bound(pipeline, trained):
    """Whether the pipeline alone (images/s) is too close to the training rate to keep up."""
    return pipeline < HEADROOM * trained


def verdict(pipeline, trained):
    """One sentence on which of the two rates (images/s) sets the pace."""
    said = f"Input pipeline alone: {pipeline:.0f} img/s; training: {trained:.1f} img/s"
    if decoding_bound(pipeline, trained):
        return (f"{said}: decoding, not the model, sets the pace (try cache='memory' if the images fit, "
                "smaller source images, or more CPU cores).")  # fmt: skip
    return f"{said}: the model, not decoding, sets the pace."


class Verdict(keras.callbacks.Callback):
    """Logs `verdict` once, after the first epoch with a training rate; place it after
    `progress.Throughput`, which puts the rate in the epoch's logs."""

    def __init__(self, pipeline):
        super().__init__()
        self.pipeline = pipeline

    def on_epoch_end(self, epoch, logs=None):
        trained = (logs or {}).get("img/s")
        if self.pipeline is None or trained is None or trained != trained:  # NaN: a one-step epoch
            return
        say = log.warning if decoding_bound(self.pipeline, trained) else log.info
        say(verdict(self.pipeline, trained))
        self.pipeline = None
