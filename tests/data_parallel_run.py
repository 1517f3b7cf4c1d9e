"""Trains a tiny classifier (a few steps), a RetinaNet and a segmenter (one step each, on
ResNet18) on one device and data parallel on two; prints how far apart their weights end
up, as JSON. Run by tests/test_distribute.py in a fresh process, since
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
    os.environ["JAX_ENABLE_X64"] = "1"  # for SEGMENTER_DTYPE
else:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * DEVICES)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets.heads import retinanet, segmentation  # noqa: E402
from keras_resnets.tasks.segmentation import void_masked_crossentropy  # noqa: E402
from keras_resnets.training import distribute, recipe  # noqa: E402
from keras_resnets.training.errors import ConfigError  # noqa: E402
from keras_resnets.training.options import RunConfig  # noqa: E402

BATCH, STEPS = 8, 4
TASK_SIZE, TASK_BATCH, CLASSES = 64, 4, 3
# The segmenter trains in float64. In float32, one device and two sum in different orders,
# and where a ReLU's or max-pool's input sits that close to a tie, the rounding sends the two
# down different branches: one SGD step then came out 2e-4 apart for two seeds of six on
# TensorFlow (2e-7 for the others), and 4e-5 on another CPU for the batch used here; in
# float64, within 1e-10 for this batch and for three of those seeds, both 2e-4 ones among
# them. (The RetinaNet's outputs and loss are float32 by design.)
SEGMENTER_DTYPE = "float64"


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


def task_model(task):
    backbone = kr.features("resnet18", weights=None, input_shape=(TASK_SIZE, TASK_SIZE, 3))
    if task == "detection":
        return retinanet.retinanet(backbone, CLASSES, "torch", False, filters=8, depth=1)
    return segmentation.segmenter(backbone, CLASSES, "torch", False, "fpn")


def task_batch(task):
    """One batch of images and labels: boxes [x1, y1, x2, y2, class] in input pixels, or a
    class map with some void (255) pixels, unevenly spread over the images."""
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (TASK_BATCH, TASK_SIZE, TASK_SIZE, 3)).astype(keras.config.floatx())
    if task == "detection":
        corners = np.sort(rng.uniform(0, TASK_SIZE, (TASK_BATCH, 3, 2, 2)), axis=2)
        boxes = np.concatenate([corners[:, :, 0], corners[:, :, 1]], axis=-1) + [0, 0, 12, 12]
        classes = rng.integers(0, CLASSES, (TASK_BATCH, 3, 1))
        labels = np.concatenate([np.minimum(boxes, TASK_SIZE), classes], axis=-1).astype("float32")
        labels[0, 1:] = -1  # one image with a single box
        return images, labels
    masks = rng.integers(0, CLASSES, (TASK_BATCH, TASK_SIZE, TASK_SIZE)).astype("int32")
    masks[0, : TASK_SIZE // 2] = 255
    return images, masks


def train_task(task, config, initial):
    images, labels = task_batch(task)
    with distribute.scope(config) as replicas:
        model = task_model(task)
        model.set_weights(initial)
        if config.sync_bn:
            distribute.synchronize_batch_norm(model)
        loss = retinanet.RetinaNetLoss(TASK_SIZE) if task == "detection" else void_masked_crossentropy
        model.compile(optimizer=recipe.make_optimizer("sgd", 0.05, 1, 1, weight_decay=1e-4), loss=loss)
        model.fit(images, labels, batch_size=TASK_BATCH, epochs=1, shuffle=False, verbose=0)
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
    sync_bn = keras.backend.backend() == "tensorflow"
    for task in ("detection", "segmentation"):
        dtype = SEGMENTER_DTYPE if task == "segmentation" else "float32"
        keras.config.set_floatx(dtype)
        keras.config.set_dtype_policy(dtype)
        keras.utils.set_random_seed(0)
        initial = [np.asarray(w) for w in task_model(task).get_weights()]
        one, single = train_task(task, RunConfig(distribute="none"), initial)
        replicas, parallel = train_task(task, RunConfig(distribute="data", sync_bn=sync_bn), initial)
        report[task] = {"replicas": [one, replicas], "max_abs_diff": gap(single, parallel),
                        "moved": gap(initial, parallel)}  # fmt: skip
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    try:
        with distribute.scope(RunConfig(distribute="data", batch_size=7)):
            pass
    except ConfigError as exc:
        report["odd_batch"] = str(exc)
    report["auto"] = distribute.mode(RunConfig())
    print(json.dumps(report))


if __name__ == "__main__":
    sys.exit(main())
