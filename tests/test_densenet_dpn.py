"""DenseNet and Dual Path Networks: counts, layer names, official Keras files, converters."""

import inspect
import json
import re

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.core.analysis import trainable_params
from keras_resnets import convert
from keras_resnets import weights as weights_lib
from helpers import (
    ROOT, logits, needs_torch, random_images, randomize_weights, reference_checkpoint, reference_folder, reference_images,
    run_reference, save_legacy_h5, weighted_layer_names,
)  # fmt: skip

# keras.applications totals (BatchNorm statistics included), and the trainable counts of
# torchvision (DenseNet) and timm (DPN): the same layers, so our trainable counts equal
# torchvision's, and our totals keras.applications'. DenseNet264 has no reference.
TOTAL_PARAMS = {
    "densenet121": 8_062_504,
    "densenet169": 14_307_880,
    "densenet201": 20_242_984,
    "densenet264": 33_736_232,
}
TRAINABLE_PARAMS = {
    "densenet121": 7_978_856,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "densenet264": 33_337_704,
    "dpn68": 12_611_602,
    "dpn68b": 12_611_602,
    "dpn92": 37_668_392,
    "dpn98": 61_570_728,
    "dpn107": 86_917_800,
    "dpn131": 79_254_504,
}
REFERENCE_SCRIPT = "torch_reference_dense.py"



# Counts only (TensorFlow): a spec builds the same layers on every backend; the forward and
# conversion tests below rebuild the families under JAX and PyTorch.
@pytest.mark.parametrize("name", sorted(TRAINABLE_PARAMS))
def test_builds_with_reference_params(name):
    """Builds only: the converter tests below run DenseNet121, DPN68 and DPN68b (the same
    layer functions as the deeper rows) forward on every backend, against the references;
    a first forward pass costs JAX a compilation per layer shape."""
    model = kr.create_model(name, weights=None, input_shape=(32, 32, 3))
    assert tuple(model.output.shape) == (None, 1000)
    assert trainable_params(model) == TRAINABLE_PARAMS[name]
    if name in TOTAL_PARAMS:
        assert model.count_params() == TOTAL_PARAMS[name]


def test_listed_exported_and_documented():
    for name in TRAINABLE_PARAMS:
        spec = kr.get_spec(name)
        assert name in kr.list_models()
        assert getattr(kr, spec.name).__name__ == spec.name
    readme = (ROOT / "README.md").read_text()
    for entrypoint in ("DenseNet121", "DenseNet264", "DPN68b", "DPN131"):
        assert entrypoint in readme


def test_weights_rows():
    keras_row = weights_lib.find("densenet121", "imagenet")
    assert keras_row.url.endswith("densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5")
    assert (keras_row.file_hash, keras_row.notop_hash) == (
        "9d60b8095a5708f2dcce2bca79d332c7",
        "30ee3e1110167f948a6b9946edeeb738",
    )
    assert {weights_lib.find(f"densenet{d}", "imagenet").preprocessing for d in (121, 169, 201)} == {"torch"}
    assert weights_lib.find("densenet169", "tv_in1k").url == "https://download.pytorch.org/models/densenet169-b2777c0a.pth"
    dpn92 = weights_lib.find("dpn92", "timm_mx_in1k")
    assert dpn92.url == "https://huggingface.co/timm/dpn92.mx_in1k/resolve/main/model.safetensors"
    assert (dpn92.layout, dpn92.source, dpn92.preprocessing) == ("timm_dpn", "timm", "dpn")
    assert weights_lib.find("dpn68b", "timm_ra_in1k").preprocessing == "torch"
    assert inspect.signature(kr.DenseNet121).parameters["weights"].default == "imagenet"
    # Its only row is its default, as "imagenet" is for DenseNet121 (`weights.select`).
    assert inspect.signature(kr.DPN92).parameters["weights"].default == "timm_mx_in1k"


def test_dpn_preprocessing():
    """timm's IMAGENET_DPN_MEAN/STD: (x / 255 - mean / 255) / (1 / (0.0167 * 255))."""
    x = np.array([[[[124.0, 117.0, 104.0], [255.0, 0.0, 10.0]]]], "float32")
    expected = (x - np.array([124.0, 117.0, 104.0])) * 0.0167
    np.testing.assert_allclose(kr.preprocess_input(x.copy(), "dpn92"), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(kr.preprocess_input(keras.ops.convert_to_tensor(x), "dpn92")), expected, rtol=1e-6)


def test_dpn_layer_names():
    model = kr.DPN68(weights=None, input_shape=(64, 64, 3))
    names = {layer.name for layer in model.layers}
    block = "conv3_block1"
    for part in ("proj_bn", "proj_res_conv", "proj_dense_conv", "1_conv", "2_pad", "2_conv", "3_bn", "3_res_conv", "3_dense_conv", "add", "dense", "out"):
        assert f"{block}_{part}" in names
    assert "conv3_block2_proj_bn" not in names
    assert {"conv1_conv", "pool1_pool", "post_bn", "post_relu", "avg_pool", "predictions"} <= names
    # Stage 3 of DPN68: residual width 128, dense path 2 * 32 + 4 * 32 channels.
    assert model.get_layer("conv3_block4_out").output.shape[-1] == 128 + 6 * 32
    assert model.get_layer("conv3_block1_2_conv").groups == 32


@pytest.mark.parametrize("include_top", [True, False], ids=["top", "notop"])
def test_densenet121_keras_h5_loads_both_ways(include_top, tmp_path):
    """As the ResNets in test_keras_compat.py: by order, by name, and back."""
    shape = (64, 64, 3)
    kwargs = dict(weights=None, include_top=include_top, input_shape=shape)
    if include_top:
        kwargs["classes"] = 7
    reference = randomize_weights(keras.applications.DenseNet121(**kwargs), seed=3)
    images = random_images((2, *shape))
    expected = logits(reference, images)
    path = save_legacy_h5(reference, tmp_path / "reference.h5")

    ours = kr.DenseNet121(**kwargs)
    ours.load_weights(path)  # by order, as keras.applications loads its files
    np.testing.assert_allclose(logits(ours, images), expected, atol=1e-5, rtol=0)
    by_name = kr.DenseNet121(**kwargs)
    by_name.load_weights(path, by_name=True)
    np.testing.assert_allclose(logits(by_name, images), expected, atol=1e-5, rtol=0)

    randomize_weights(ours, seed=4)
    reference.load_weights(save_legacy_h5(ours, tmp_path / "ours.h5"))
    np.testing.assert_allclose(logits(reference, images), logits(ours, images), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["DenseNet169", "DenseNet201"])
def test_densenet_layers_are_keras_applications(name):
    """Every layer name and the weight order match; keras.applications leaves its two
    stem paddings unnamed (`zero_padding2d*`), ours are conv1_pad and pool1_pad."""
    ours = getattr(kr, name)(weights=None, input_shape=(32, 32, 3))
    reference = getattr(keras.applications, name)(weights=None, input_shape=(32, 32, 3))
    assert weighted_layer_names(ours) == weighted_layer_names(reference)
    assert [w.shape for w in ours.weights] == [w.shape for w in reference.weights]
    ours_names = [layer.name for layer in ours.layers[1:] if layer.name not in ("conv1_pad", "pool1_pad")]
    ref_names = [layer.name for layer in reference.layers[1:] if not layer.name.startswith("zero_padding2d")]
    assert ours_names == ref_names


@pytest.fixture(scope="module")
def dense_reference(request, tmp_path_factory):
    """Folder of tests/torch_reference_dense.py's files (checkpoints, the batch, logits)."""
    return reference_folder(request, tmp_path_factory, REFERENCE_SCRIPT)


@needs_torch
@pytest.mark.backend
@pytest.mark.parametrize(
    "case,name",
    [("densenet121", "densenet121"), ("dpn68", "dpn68"), ("dpn68b", "dpn68b"), ("timm_densenet121", "densenet121")],
)
def test_converted_outputs_match_the_reference(dense_reference, case, name):
    """torchvision's densenet121 (`.pth`, published key names), timm's dpn68, dpn68b and
    densenet121 (`.safetensors`)."""
    if case.startswith("timm_") and keras.backend.backend() != "tensorflow":
        pytest.skip("timm's DenseNet has torchvision's layers: one backend is enough")
    images = reference_images(dense_reference)
    model = kr.create_model(name, weights=None, input_shape=images.shape[1:], classifier_activation=None)
    convert.load_checkpoint(model, reference_checkpoint(dense_reference, case), kr.get_spec(name))
    want = np.load(dense_reference / f"{case}_logits.npy")
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(logits(model, images), want, rtol=0, atol=1e-4)


@needs_torch
def test_densenet_reads_current_key_names_and_epsilon(dense_reference):
    """`state_dict()` of torchvision and timm says norm1/conv1/...; both use BatchNorm
    epsilon 1e-5 where ours is keras.applications' 1.001e-5: the variance absorbs it."""
    import torch

    legacy = torch.load(dense_reference / "densenet121.pth", weights_only=True)
    current = {re.sub(r"\.(norm|conv)\.([12])\.", r".\1\2.", k): v.numpy() for k, v in legacy.items()}
    assert "features.denseblock1.denselayer1.norm1.weight" in current
    current["features.norm5.running_var"][:] = 0.0
    model = kr.DenseNet121(weights=None, input_shape=(32, 32, 3))
    convert.convert(model, current, kr.get_spec("densenet121"))
    variance = keras.ops.convert_to_numpy(model.get_layer("bn").moving_variance)
    np.testing.assert_array_equal(variance, np.float32(1e-5 - 1.001e-5))


@needs_torch
def test_dpn_shared_kernel_is_reported_once(dense_reference):
    from safetensors.numpy import load_file

    state = load_file(str(dense_reference / "dpn68.safetensors"))
    state.pop("features.conv3_2.c1x1_c.conv.weight")
    model = kr.DPN68(weights=None, input_shape=(32, 32, 3))
    with pytest.raises(convert.CheckpointMismatchError) as info:
        convert.convert(model, state, kr.get_spec("dpn68"))
    message = str(info.value)
    assert message.count("features.conv3_2.c1x1_c.conv.weight") == 1
    assert "nothing was loaded" in message


@needs_torch
def test_reference_counts_are_live():
    live = json.loads(run_reference(REFERENCE_SCRIPT, "--counts"))
    assert live.pop("timm_densenet121") == TRAINABLE_PARAMS["densenet121"]
    assert live == {n: TRAINABLE_PARAMS[n] for n in live}
