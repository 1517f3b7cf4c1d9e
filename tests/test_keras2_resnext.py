"""The official Keras 2 ResNeXt files load into ResNeXt50/101 (`layout="keras2_resnext"`).

keras_applications' ResNeXt is gone from Keras 3, so `keras2_resnext` below rebuilds it
layer for layer (keras-team/keras-applications, `resnext.py`: DepthwiseConv2D with
`depth_multiplier=c`, Reshape to (groups, c, c), a sum over axis 4, Reshape back; classifier
`probs`), gives it seeded weights and writes its legacy `.h5`, as the official files are.
"""

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras import layers, ops

import keras_resnets as kr
from keras_resnets import convert
from keras_resnets import weights as weights_lib
from keras_resnets.convert import keras2
from helpers import random_images, randomize_weights, save_legacy_h5

SIZE = 64
CLASSES = 10
EPS = 1.001e-5


def _bn(x, name):
    return layers.BatchNormalization(epsilon=EPS, name=name)(x)


def _keras2_block(x, filters, stride, groups, conv_shortcut, name):
    if conv_shortcut:
        shortcut = layers.Conv2D(
            2 * filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _bn(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x, f"{name}_1_bn"))
    c = filters // groups
    x = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, depth_multiplier=c, use_bias=False, name=f"{name}_2_conv"
    )(x)
    spatial = tuple(x.shape[1:-1])
    x = layers.Reshape(spatial + (groups, c, c))(x)
    # keras_applications: sum(x[:, :, :, :, i] for i in range(c)), i.e. over axis 4.
    x = layers.Lambda(lambda t: ops.sum(t, axis=4), name=f"{name}_2_reduce")(x)
    x = layers.Reshape(spatial + (filters,))(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(x, f"{name}_2_bn"))
    x = layers.Conv2D(2 * filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, _bn(x, f"{name}_3_bn")])
    return layers.Activation("relu", name=f"{name}_out")(x)


def keras2_resnext(depths, include_top, classes=CLASSES, groups=32, activation=None):
    """keras_applications' ResNeXt (channels_last, as its Reshapes assume); logits by
    default (its `probs` is a softmax, which would hide differences)."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn"))
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (depth, filters) in enumerate(zip(depths, (128, 256, 512, 1024)), start=2):
        for i in range(1, depth + 1):
            stride = 2 if i == 1 and stage > 2 else 1
            x = _keras2_block(x, filters, stride, groups, i == 1, f"conv{stage}_block{i}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=activation, name="probs")(x)
    return keras.Model(inputs, x)


def scaled_random_weights(model, seed):
    """`randomize_weights` (random BatchNorm statistics), kernels He-scaled so that
    a 50-layer net keeps its activations near 1 and the comparison means something."""
    randomize_weights(model, seed)
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)):
            kernel = layer.weights[0]
            shape = tuple(kernel.shape)
            fan_in = np.prod(shape[:-1])
            if isinstance(layer, layers.DepthwiseConv2D):
                fan_in = shape[0] * shape[1] * shape[3]  # c inputs per output after the sum
            kernel.assign(ops.convert_to_numpy(kernel) * np.sqrt(1.0 / fan_in) / 0.1)
    return model


def save_keras2_h5(model, path):
    """The legacy `.h5` as Keras 2 wrote it: `<layer>/<variable>:0`, `depthwise_kernel`."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = []
            for variable in layer.weights:
                short = variable.name
                if isinstance(layer, layers.DepthwiseConv2D) and short == "kernel":
                    short = "depthwise_kernel"
                names.append(f"{layer.name}/{short}:0")
                group.create_dataset(names[-1], data=ops.convert_to_numpy(variable))
            group.attrs["weight_names"] = [n.encode("utf8") for n in names]
    return str(path)


def test_grouped_kernel_is_the_depthwise_reduction():
    """One layer: Keras 2's depthwise + reshape + sum equals our grouped Conv2D."""
    groups, c, size = 4, 3, 8
    inputs = keras.Input((size, size, groups * c))
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=c, use_bias=False)(inputs)
    x = layers.Reshape((size, size, groups, c, c))(x)
    x = layers.Reshape((size, size, groups * c))(layers.Lambda(lambda t: ops.sum(t, axis=4))(x))
    reference = randomize_weights(keras.Model(inputs, x), seed=5)
    ours = layers.Conv2D(groups * c, 3, padding="same", groups=groups, use_bias=False)
    ours.build((None, size, size, groups * c))
    depthwise = reference.layers[1].get_weights()[0]
    ours.set_weights([keras2.grouped_kernel(depthwise, groups)])
    images = random_images((2, size, size, groups * c))
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours(images)), reference.predict(images, verbose=0), atol=1e-5, rtol=0
    )


def test_params_equal_keras_applications():
    """Same tensors up to the kernel order: keras_applications' totals (BatchNorm statistics
    included; trainable 25,028,904 and 44,177,704)."""
    reference = keras2_resnext((3, 4, 6, 3), include_top=True, classes=1000, activation="softmax")
    ours = kr.ResNeXt50(weights=None, input_shape=(SIZE, SIZE, 3))
    assert ours.count_params() == reference.count_params() == 25_097_128
    ours_weighted = [layer.name for layer in ours.layers if layer.weights]
    ref_weighted = [layer.name for layer in reference.layers if layer.weights]
    assert [keras2.KERAS2_NAMES.get(n, n) for n in ours_weighted] == ref_weighted
    # keras2_resnext((3, 4, 23, 3), True, classes=1000) counts the same; built once, not here.
    assert kr.create_model("resnext101", weights=None).count_params() == 44_315_560


@pytest.mark.backend
def test_official_layout_loads_through_the_table(keras_home, tmp_path):
    """Seeded Keras 2 ResNeXt50 -> legacy .h5 -> our ResNeXt50 via the weights row, both heads."""
    reference = scaled_random_weights(keras2_resnext((3, 4, 6, 3), include_top=True), seed=11)
    top = save_keras2_h5(reference, tmp_path / "resnext50_test.h5")
    # A Keras 3 re-save ("kernel", not "depthwise_kernel"), with a classifier to skip.
    notop = save_legacy_h5(reference, tmp_path / "resnext50_test_notop.h5")
    weights_lib.register(
        weights_lib.WeightsEntry(
            model="resnext50",
            tag="imagenet",
            url=f"file://{top}",
            file_hash=weights_lib.file_hash(top, "md5"),
            notop_url=f"file://{notop}",
            notop_hash=weights_lib.file_hash(notop, "md5"),
            layout="keras2_resnext",
            classes=CLASSES,
            resolution=SIZE,
            preprocessing="torch",
        )
    )
    images = random_images((2, SIZE, SIZE, 3))
    expected = reference.predict(images, verbose=0)
    assert np.abs(expected).max() > 0.5  # logits of a meaningful size, not all near zero
    ours = kr.ResNeXt50(classes=CLASSES, classifier_activation=None)
    np.testing.assert_allclose(ours.predict(images, verbose=0), expected, atol=1e-4, rtol=0)

    features = kr.ResNeXt50(include_top=False, pooling="avg", input_shape=(SIZE, SIZE, 3))
    pooled = keras.Model(reference.input, reference.get_layer("avg_pool").output)
    np.testing.assert_allclose(
        features.predict(images, verbose=0), pooled.predict(images, verbose=0), atol=1e-4, rtol=0
    )

    # The second load is a plain Keras load of the converted cache: no source file needed.
    cached = keras_home / "models" / "resnext50_test.resnext50.weights.h5"
    assert cached.exists()
    for path in (top, keras_home / "models" / "resnext50_test.h5"):
        Path(path).unlink()
    again = kr.ResNeXt50(classes=CLASSES, classifier_activation=None)
    np.testing.assert_allclose(again.predict(images, verbose=0), expected, atol=1e-4, rtol=0)


def test_a_resnet50_file_fails_naming_the_tensors(tmp_path):
    source = randomize_weights(kr.ResNet50(weights=None, include_top=False), seed=3)
    path = save_legacy_h5(source, tmp_path / "resnet50.h5")
    model = kr.ResNeXt50(weights=None, include_top=False)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(convert.CheckpointMismatchError) as info:
        keras2.load_keras2_h5(model, path, kr.get_spec("resnext50"))
    message = str(info.value)
    assert "nothing was loaded" in message
    assert "unexpected tensors: " in message and "conv1_conv/bias" in message
    # ResNet50's 64-wide 1x1 and dense 3x3 against our 128-wide 1x1 and grouped 3x3.
    assert "conv2_block1_1_conv expects [(1, 1, 64, 128)]" in message
    assert (
        "conv2_block1_2_conv expects [(3, 3, 4, 128)], the checkpoint gives [(3, 3, 64, 64)]"
        in message
    )
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
