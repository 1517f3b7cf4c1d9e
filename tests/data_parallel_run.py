"""Trains a tiny classifier on one device and data parallel on two; prints how far apart
their weights end up, as JSON. Run by tests/test_distribute.py in a fresh process, since
the devices must be split before the backend starts:

    KERAS_BACKEND=jax python tests/data_parallel_run.py        (2 emulated XLA CPU devices)
    KERAS_BACKEND=tensorflow python tests/data_parallel_run.py (2 logical CPU devices)
"""

import json
import os
import sys

DEVICES = 2
if os.environ.get("KERAS_BACKEND") == "jax":
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"
else:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * DEVICES)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_resnets.training import distribute, recipe  # noqa: E402
from keras_resnets.training.errors import ConfigError  # noqa: E402
from keras_resnets.training.options import RunConfig  # noqa: E402

BATCH, STEPS = 8, 4


def tiny(batch_norm):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(x))


def train(config, batch_norm, initial):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(BATCH * STEPS, 8, 8, 3)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 3, BATCH * STEPS), 3)
    with distribute.scope(config) as replicas:
        model = tiny(batch_norm)
        model.set_weights(initial)
        if config.sync_bn:
            distribute.synchronize_batch_norm(model)
        optimizer = recipe.make_optimizer("sgd", 0.5, STEPS, 1, weight_decay=1e-4)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return replicas, [np.asarray(w) for w in model.get_weights()]


def gap(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def main():
    report = {"devices": len(keras.distribution.list_devices()) if keras.backend.backend() == "jax" else DEVICES}
    variants = {"plain": (False, False), "batch_norm": (True, False)}
    if keras.backend.backend() == "tensorflow":
        variants["sync_bn"] = (True, True)
    for name, (batch_norm, sync_bn) in variants.items():
        keras.utils.set_random_seed(0)
        initial = [np.asarray(w) for w in tiny(batch_norm).get_weights()]
        one, single = train(RunConfig(distribute="none"), batch_norm, initial)
        replicas, parallel = train(RunConfig(distribute="data", sync_bn=sync_bn), batch_norm, initial)
        report[name] = {"replicas": [one, replicas], "max_abs_diff": gap(single, parallel),
                        "moved": gap(initial, parallel)}  # fmt: skip
    try:
        with distribute.scope(RunConfig(distribute="data", batch_size=7)):
            pass
    except ConfigError as exc:
        report["odd_batch"] = str(exc)
    report["auto"] = distribute.mode(RunConfig())
    print(json.dumps(report))


if __name__ == "__main__":
    sys.exit(main())
