"""Data-parallel training through the backends' own engines (no distribution code of ours).

`scope(config)` is the context a run builds, compiles, restores and trains its model in:

- JAX: `keras.distribution.DataParallel` over `keras.distribution.list_devices()`, set as
  Keras' distribution for the duration (each batch is split over the devices; XLA's SPMD
  computes BatchNorm statistics over the global batch).
- TensorFlow: `tf.distribute.MirroredStrategy` over the local GPUs, or the logical CPU
  devices where there are several and no GPU; BatchNorm statistics are per replica unless
  `sync_bn` (`BatchNormalization(synchronized=True)`, set on every BatchNorm of the model).
- PyTorch: Keras has no distribution backend for it; "data" is refused.

`batch_size` is the global batch: it must divide by the number of replicas. Only the chief
process (`is_chief`) writes checkpoints, curves, metrics and exports.
"""

import contextlib
import functools
import logging

import keras

from keras_resnets.training.errors import ConfigError

log = logging.getLogger(__name__)
BACKENDS = ("jax", "tensorflow")


def accelerators():
    """The local GPUs/TPUs the backend sees (emulated CPU devices are not accelerators)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d for d in jax.local_devices() if d.platform != "cpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    import torch

    return list(range(torch.cuda.device_count()))


def mode(config):
    """"data" or "none": what `config.distribute` means on this machine."""
    if config.distribute == "auto":
        return "data" if len(accelerators()) > 1 else "none"
    return config.distribute


def _tf_devices():
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


@contextlib.contextmanager
def scope(config):
    """Yields the number of replicas; builds, compiles and fits inside run data parallel."""
    if mode(config) == "none":
        yield 1
        return
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise ConfigError(
            f"distribute='data' needs the JAX or TensorFlow backend (KERAS_BACKEND=jax or tensorflow); "
            f"Keras has no distribution support for {backend}.",
            "distribute",
        )
    devices = keras.distribution.list_devices() if backend == "jax" else _tf_devices()
    if config.batch_size % len(devices):
        raise ConfigError(
            f"batch_size {config.batch_size} is the global batch and does not split over "
            f"{len(devices)} devices; use a multiple of {len(devices)}.",
            "batch_size",
        )
    log.info("Data parallel over %d devices (%s), %d images per replica.", len(devices), backend,
             config.batch_size // len(devices))  # fmt: skip
    if backend == "jax":
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield len(devices)
        finally:
            keras.distribution.set_distribution(previous)
        return
    strategy = _mirrored(tuple(devices))
    with strategy.scope():
        yield strategy.num_replicas_in_sync


@functools.lru_cache(maxsize=None)
def _mirrored(devices):
    # One strategy per device set and process: a second one over the same devices reuses
    # the first one's collective keys, and its all-reduces then fail on shape mismatches.
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(list(devices))


def synchronize_batch_norm(model):
    """Makes every BatchNorm of `model` (nested models included) compute its statistics over
    the global batch under TensorFlow's MirroredStrategy; call before compiling."""
    count = 0
    for layer in _layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


def _layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def is_chief():
    """Whether this process writes the run's files: process 0 of a multi-process JAX run,
    the chief (or worker 0) of a TF_CONFIG cluster, and always a single process."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_index() == 0
    import json
    import os

    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    if not task:
        return True
    cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0
