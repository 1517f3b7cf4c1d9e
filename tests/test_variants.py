"""Plain, highway and weighted-residual nets: spec options of the one builder."""

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.core.analysis import trainable_params
from keras_resnets.blocks import layers as custom
from keras_resnets.blocks import shortcuts
from helpers import random_images, randomize_weights

# Trainable parameters, measured on the built models (the README states the same).
TRAINABLE = {
    "plainnet20": 269_722,
    "plainnet32": 464_154,
    "plainnet44": 658_586,
    "plainnet56": 853_018,
    "plainnet110": 1_727_962,
    "plainnet18": 11_515_688,
    "plainnet34": 21_623_848,
    "highwaynet20": 283_626,
    "highwaynet32": 489_034,
    "highwaynet44": 694_442,
    "highwaynet56": 899_850,
    "highwaynet110": 1_824_186,
    "highwaynet18": 12_041_896,
    "highwaynet34": 22_713_064,
    "weightedresnet20": 269_731,
    "weightedresnet32": 464_169,
    "weightedresnet44": 658_607,
    "weightedresnet56": 853_045,
    "weightedresnet110": 1_728_016,
}



def layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


# Counts only (TensorFlow): a spec builds the same layers on every backend; the forward and
# conversion tests below rebuild the families under JAX and PyTorch.
@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_trainable_params(name):
    model = kr.create_model(name, input_shape=(32, 32, 3))
    assert trainable_params(model) == TRAINABLE[name]
    assert name in kr.list_models()


def test_counts_follow_from_the_resnets():
    """Plain nets drop only the projections; weighted nets add one scalar per block."""
    projections = (64 * 128 + 128 * 256 + 256 * 512) + 2 * (128 + 256 + 512)
    assert TRAINABLE["plainnet18"] == 11_689_512 - projections  # torchvision resnet18
    for depth in (20, 32, 44, 56, 110):
        blocks = 3 * (depth - 2) // 6
        assert TRAINABLE[f"weightedresnet{depth}"] == TRAINABLE[f"plainnet{depth}"] + blocks


def test_plain_nets_have_no_shortcut():
    model = kr.PlainNet20(input_shape=(32, 32, 3))
    assert not layers_of(model, keras.layers.Add)
    assert not layers_of(model, custom.ChannelPad)
    assert not [layer for layer in model.layers if "_0_" in layer.name]


def test_highway_gates_start_closed():
    model = kr.HighwayNet20(input_shape=(32, 32, 3), include_top=False)
    gates = [layer for layer in model.layers if layer.name.endswith("_gate")]
    assert len(gates) == 9 and len(layers_of(model, custom.Highway)) == 9
    for gate in gates:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(gate.bias), shortcuts.HIGHWAY_GATE_BIAS)
    assert model.get_layer("conv3_block1_gate").strides == (2, 2)


@pytest.mark.backend
def test_highway_merge_is_gated_carry():
    carry, transform = random_images((2, 4, 4, 3), seed=1), random_images((2, 4, 4, 3), seed=2)
    gate = np.random.default_rng(3).uniform(0, 1, (2, 4, 4, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(custom.Highway()([carry, transform, gate]))
    np.testing.assert_allclose(out, gate * transform + (1 - gate) * carry, atol=1e-6)


@pytest.mark.backend
def test_weighted_blocks_start_as_identity_and_end_without_relu():
    model = randomize_weights(kr.WeightedResNet20(input_shape=(32, 32, 3), include_top=False), seed=5)
    for layer in layers_of(model, custom.ResidualWeight):
        layer.weight.assign(0.0)  # the paper's start, which randomize_weights overwrote
    block_in = model.get_layer("conv1_relu").output
    block_out = model.get_layer("conv2_block1_out").output
    probe = keras.Model(model.input, [block_in, block_out])
    x, y = probe.predict(random_images((2, 32, 32, 3)), verbose=0)
    np.testing.assert_array_equal(x, y)
    assert isinstance(model.get_layer("conv2_block1_out"), keras.layers.Add)
    assert model.get_layer("conv2_block1_2_relu").output is model.get_layer("conv2_block1_weight").input


def test_residual_weight_starts_at_zero_and_is_projected_to_the_unit_interval():
    model = kr.WeightedResNet20(input_shape=(32, 32, 3))
    weights = layers_of(model, custom.ResidualWeight)
    assert len(weights) == 9
    layer = weights[0]
    assert float(keras.ops.convert_to_numpy(layer.weight)) == 0.0
    assert float(keras.ops.convert_to_numpy(layer.weight.constraint(keras.ops.convert_to_tensor(3.0)))) == 1.0
    assert custom.ResidualWeight.from_config(layer.get_config()).limit == 1.0


def test_residual_weight_is_an_option_of_imagenet_specs():
    base = kr.create_model("resnet50", weights=None)
    weighted = kr.create_model("resnet50", residual_weight=True)
    assert trainable_params(weighted) == trainable_params(base) + 16
    assert isinstance(weighted.get_layer("conv5_block3_out"), keras.layers.Add)
    with pytest.raises(TypeError):
        kr.create_model("resnet50", residual_wieght=True)


@pytest.mark.backend
@pytest.mark.parametrize("name", ["resnet20", "highwaynet20", "weightedresnet20"])
def test_custom_layers_survive_keras_save_and_load(name, tmp_path):
    model = randomize_weights(kr.create_model(name, weights=None, input_shape=(32, 32, 3)), seed=2)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    images = random_images((2, 32, 32, 3))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
