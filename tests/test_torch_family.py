"""ResNet-B/D, ResNeXt, ImageNet WRN and SE/CBAM entrypoints: counts, names, builds."""

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.core.analysis import trainable_params
from keras_resnets import weights as weights_lib
from helpers import REFERENCE_PARAMS


@pytest.mark.backend
@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_builds_with_reference_params(name):
    # Forward passes of every family run in test_torch_convert.py; here only the build.
    model = kr.create_model(name, weights=None, input_shape=(32, 32, 3))
    assert tuple(model.output.shape) == (None, 1000)
    assert trainable_params(model) == REFERENCE_PARAMS[name]


def test_every_entrypoint_is_listed_and_exported():
    listed = set(kr.list_models())
    assert set(REFERENCE_PARAMS) <= listed
    for name in REFERENCE_PARAMS:
        spec = kr.get_spec(name)
        assert getattr(kr, spec.name).__name__ == spec.name


def test_resnet50_keeps_the_keras_layout():
    spec = kr.get_spec("resnet50")
    assert (spec.stride_conv, spec.use_bias, spec.stem, spec.shortcut) == ("1x1", True, "imagenet", "projection")


def test_layer_names_of_the_options():
    model = kr.create_model("resnet50d", weights=None, input_shape=(64, 64, 3), attention="se")
    names = {layer.name for layer in model.layers}
    assert {"conv1_1_conv", "conv1_2_bn", "conv1_3_conv", "conv1_bn", "pool1_pool"} <= names
    assert {"conv3_block1_0_pool", "conv3_block1_0_conv", "conv3_block1_0_bn"} <= names
    assert "conv2_block1_0_pool" not in names  # stride 1: no pooling in the shortcut
    assert {"conv2_block1_se_reduce", "conv2_block1_se_expand", "conv2_block1_se_scale"} <= names
    # Squeeze width: timm's make_divisible(256 / 16, 8).
    assert model.get_layer("conv2_block1_se_reduce").filters == 16
    cbam = kr.create_model("cbamresnet50", weights=None, input_shape=(64, 64, 3))
    cbam_names = {layer.name for layer in cbam.layers}
    for part in ("reduce", "expand", "spatial_conv", "spatial_bn", "spatial_scale", "stats"):
        assert f"conv4_block6_cbam_{part}" in cbam_names


def test_attention_option_on_any_model():
    plain = kr.create_model("resnet18", weights=None, input_shape=(32, 32, 3))
    se = kr.create_model("resnet18", weights=None, input_shape=(32, 32, 3), attention="se")
    cbam = kr.create_model("resnet18v2", weights=None, input_shape=(32, 32, 3), attention="cbam")
    assert trainable_params(se) == REFERENCE_PARAMS["seresnet18"]
    assert trainable_params(se) > trainable_params(plain)
    assert any(layer.name.endswith("_cbam_spatial_conv") for layer in cbam.layers)
    with pytest.raises(ValueError, match="Unknown attention"):
        kr.create_model("resnet18", weights=None, attention="eca")


@pytest.mark.backend
def test_avg_down_shortcut_on_odd_sizes():
    """PyTorch's AvgPool2d(2, ceil_mode=True, count_include_pad=False): the last row and
    column of an odd map are averaged over the pixels that exist."""
    inputs = keras.Input((5, 5, 1))
    outputs = keras.layers.AveragePooling2D(2, 2, padding="same")(inputs)
    x = np.arange(25, dtype="float32").reshape(1, 5, 5, 1)
    got = keras.ops.convert_to_numpy(keras.Model(inputs, outputs)(x))[0, :, :, 0]
    expected = [[3.0, 5.0, 6.5], [13.0, 15.0, 16.5], [20.5, 22.5, 24.0]]
    np.testing.assert_allclose(got, expected)


def test_torch_weights_rows():
    tv1, tv2 = (weights_lib.find("resnet50b", tag) for tag in ("tv_in1k", "tv2_in1k"))
    assert tv1.url == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    assert (tv1.file_hash, tv1.layout, tv1.source) == ("0676ba61", "torch_resnet", "torchvision")
    assert tv2.url.endswith("resnet50-11ad3fa6.pth")
    a1 = weights_lib.find("resnet50b", "timm_a1_in1k")
    assert a1.url == "https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors"
    assert (a1.layout, a1.source, a1.resolution, a1.file_hash) == ("torch_resnet", "timm", 288, None)
    ours = set(REFERENCE_PARAMS) | {"resnet18", "resnet34"}
    rows = [e for e in weights_lib.TABLE if e.model in ours]
    assert {(e.layout, e.source) for e in rows} == {("torch_resnet", "torchvision"), ("torch_resnet", "timm")}
    assert {e.preprocessing for e in rows} == {"torch"}
    no_weights = {"seresnet18", "seresnet34", "seresnet101", "seresnet152", "cbamresnet50"}
    for name in set(REFERENCE_PARAMS) - no_weights:  # neither library has weights for those
        assert weights_lib.available(name), name
    assert kr.get_spec("resnet18").preprocessing == "torch"
