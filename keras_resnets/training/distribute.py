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

Several processes (hosts) are JAX only: `initialize(config)` joins them through
`keras.distribution.initialize` (the coordinator address, process count and id from the
config, else Keras' KERAS_DISTRIBUTION_JOB_ADDRESSES / _NUM_PROCESSES / _PROCESS_ID), and the
mesh then spans every process's devices. Each process feeds the same seeded global stream;
Keras' `DataParallel.distribute_dataset` rebatches it and keeps this process's share of every
global batch, so no image is seen twice an epoch. TensorFlow's MultiWorkerMirroredStrategy
fails inside `fit` with Keras 3.15 (keras-team/keras#20585), so it is refused.
"""

import contextlib
import functools
import logging
import os

import keras

from keras_resnets.convert.checkpoint import flat_layers
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


def processes(config):
    """(coordinator address, number of processes, this process's id) of the run: the config's,
    else Keras' environment variables, else one process."""
    env = os.environ.get
    address = config.coordinator_address or env("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    count = config.num_processes or int(env("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1)
    index = config.process_id if config.process_id is not None else int(env("KERAS_DISTRIBUTION_PROCESS_ID") or 0)
    if not 0 <= index < count:
        raise ConfigError(f"process_id is in [0, {count}) for {count} process(es); got {index}.", "process_id")
    return address, count, index


def initialize(config):
    """Joins the run's processes, if it has several; call before JAX computes anything."""
    address, count, index = processes(config)
    if count == 1:
        return
    if keras.backend.backend() != "jax":
        raise ConfigError(
            f"{count} processes need KERAS_BACKEND=jax: TensorFlow's MultiWorkerMirroredStrategy fails "
            "inside Keras 3.15's fit (keras-team/keras#20585), and PyTorch has no distribution in Keras.",
            "num_processes",
        )
    if config.distribute == "none":
        raise ConfigError(f"{count} processes train together only with distribute 'data' or 'auto'.", "distribute")
    import jax

    if jax.distributed.is_initialized():  # a second run in this process: the cluster stands
        return
    # CPU devices all-reduce across processes only through gloo; accelerators have their own.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(address, count, index)
    log.info("Process %d of %d (coordinator %s).", index, count, address)


def multi_process():
    """Whether this run's devices span several processes (JAX only)."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.process_count() > 1


def mode(config):
    """"data" or "none": what `config.distribute` means on this machine (several processes:
    data)."""
    if config.distribute == "auto":
        return "data" if multi_process() or len(accelerators()) > 1 else "none"
    return config.distribute


def agree(value, what):
    """`value` (an integer) if every process has the same, else a RuntimeError naming `what`."""
    if not multi_process():
        return value
    from jax.experimental import multihost_utils

    values = [int(v) for v in multihost_utils.process_allgather(keras.ops.convert_to_numpy(value))]
    if len(set(values)) > 1:
        raise RuntimeError(
            f"The processes disagree on {what}: {values} (by process). Every process must read the "
            "same run folder (a shared output_dir), or a copy of the chief's."
        )
    return value


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


@contextlib.contextmanager
def local():
    """Keras objects made meanwhile live on this process alone. What one process does by
    itself (the chief saving a checkpoint: Keras' saving makes a throwaway optimizer) must
    not make variables over every process's devices, a collective the others never join."""
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


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
    for layer in flat_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


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
