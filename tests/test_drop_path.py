"""Stochastic depth (`drop_path_rate`): timm's per-block rates, per-sample drops at
training, the identity at inference, and default weights that still load."""

import dataclasses
import json
import types

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets import weights as weights_lib
from keras_resnets.blocks import layers as custom
from keras_resnets.core import builder
from keras_resnets.core.specs import Spec

from helpers import FAMILIES, MISSING, random_images, randomize_weights, run_reference, weighted_layer_names

RESIDUAL = {name: fields for name, fields in FAMILIES.items() if name != "dense"}


def drop_rates(model):
    """{block name: rate} of the merges that drop their branch."""
    merges = (custom.DropPathAdd, custom.Highway)
    return {layer.name.rsplit("_", 1)[0]: layer.rate for layer in model.layers if isinstance(layer, merges) and layer.rate}


@pytest.mark.skipif(bool(MISSING), reason=f"needs {MISSING}")
def test_resnet50_block_rates_equal_timms():
    timm_rates = json.loads(run_reference("timm_drop_path.py", "resnet50", "0.1"))
    model = kr.create_model("resnet50b", weights=None, drop_path_rate=0.1)
    ours = drop_rates(model)
    assert len(timm_rates) == 16 and timm_rates["conv2_block1"] == 0.0  # timm's first block has none
    assert ours == pytest.approx({name: rate for name, rate in timm_rates.items() if rate > 0}, abs=1e-12)
    assert ours["conv5_block3"] == pytest.approx(0.1)


@pytest.mark.parametrize("family", sorted(RESIDUAL))
def test_every_residual_family_drops_in_training_only(family):
    fields = dict(RESIDUAL[family], depths=(2, 2))
    plain = builder.build_model(Spec("X", **fields), weights=None, input_shape=(32, 32, 3), classes=4)
    dropping = builder.build_model(Spec("X", drop_path_rate=0.5, **fields), weights=None, input_shape=(32, 32, 3), classes=4)
    assert len(drop_rates(dropping)) == 3
    # Same layers in the same order (legacy .h5 files load by order), same weights.
    assert weighted_layer_names(dropping) == weighted_layer_names(plain)
    assert [w.path for w in dropping.weights] == [w.path for w in plain.weights]
    randomize_weights(plain)
    dropping.set_weights(plain.get_weights())
    images = random_images((16, 32, 32, 3))
    np.testing.assert_allclose(dropping(images, training=False), plain(images, training=False), atol=1e-6)
    # In training the branches drop (per sample: the layer test below; here BatchNorm's batch
    # statistics spread one sample's drop over the batch).
    trained = keras.ops.convert_to_numpy(dropping(images, training=True))
    assert not np.allclose(trained, keras.ops.convert_to_numpy(plain(images, training=True)), atol=1e-4)


@pytest.mark.backend
def test_drop_path_zeroes_whole_samples_and_scales_the_kept():
    layer = custom.DropPathAdd(0.25, seed=3)
    x = np.ones((2000, 2, 2, 3), "float32")
    added = keras.ops.convert_to_numpy(layer([np.zeros_like(x), x], training=True))
    per_sample = added.reshape(len(added), -1)
    np.testing.assert_array_equal(per_sample.min(axis=1), per_sample.max(axis=1))  # whole samples
    kept = per_sample[:, 0] != 0
    np.testing.assert_allclose(per_sample[kept, 0], 1 / 0.75, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.25) < 0.04
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer([x, x], training=False)), 2 * x)
    assert custom.DropPathAdd.from_config(layer.get_config()).rate == 0.25


def test_drop_path_keeps_default_weights_and_loads_a_weights_file(tmp_path):
    spec = kr.get_spec("resnet20")
    dropping = dataclasses.replace(spec, drop_path_rate=0.1)
    assert weights_lib.select(dropping).weights == "cifar10"
    assert weights_lib.cached_weights_path("/c/resnet20.th", dropping, True) == weights_lib.cached_weights_path(
        "/c/resnet20.th", spec, True
    )
    source = kr.create_model("resnet20", weights=None)
    randomize_weights(source)
    path = str(tmp_path / "resnet20.weights.h5")
    source.save_weights(path)
    loaded = kr.create_model("resnet20", weights=path, drop_path_rate=0.1)
    assert drop_rates(loaded)
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_drop_path_is_refused_where_there_is_no_residual_sum():
    with pytest.raises(ValueError, match="'drop_path_rate'.*resnet"):
        kr.create_model("densenet121", weights=None, drop_path_rate=0.1)
    with pytest.raises(ValueError, match="shortcut='none'.*leave drop_path_rate at 0"):
        builder.build_model(Spec("X", **dict(FAMILIES["basic"], shortcut="none", depths=(2, 1), drop_path_rate=0.1)), weights=None)


def test_the_training_option_reaches_the_backbone_from_scratch_only():
    from keras_resnets.tasks.classification import ClassificationTask
    from keras_resnets.training import ConfigError, RunConfig, resolve

    with pytest.raises(ConfigError, match="from scratch") as refused:
        resolve(RunConfig(model="resnet18", weights="tv_in1k", drop_path=0.1), "x")
    assert refused.value.option == "drop_path"
    with pytest.raises(ConfigError, match="no residual sum"):
        resolve(RunConfig(model="densenet121", weights="none", drop_path=0.1), "x")
    config = resolve(RunConfig(model="resnet18", weights="none", drop_path=0.2, image_size=32), "x")
    model = ClassificationTask().build_model(config, types.SimpleNamespace(class_names=["a", "b"]), None)
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert drop_rates(backbone)["conv5_block2"] == pytest.approx(0.2)
