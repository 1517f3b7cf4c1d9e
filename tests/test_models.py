"""Architecture facts of the foundation models, checked on every backend."""

import inspect

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.core.analysis import trainable_params
from helpers import logits, random_images, randomize_weights

# keras.applications totals (BatchNorm statistics included) and torchvision trainable counts.
TOTAL_PARAMS = {
    "resnet50": 25_636_712,
    "resnet101": 44_707_176,
    "resnet152": 60_419_944,
    "resnet50v2": 25_613_800,
    "resnet101v2": 44_675_560,
    "resnet152v2": 60_380_648,
}
TRAINABLE_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672}


# Counts only (TensorFlow): a spec builds the same layers on every backend; the forward and
# conversion tests below rebuild the families under JAX and PyTorch.
@pytest.mark.parametrize("name", sorted(TOTAL_PARAMS))
def test_total_params_equal_keras_applications(name):
    assert kr.create_model(name, weights=None).count_params() == TOTAL_PARAMS[name]


# Counts only (TensorFlow), as above.
@pytest.mark.parametrize("name", sorted(TRAINABLE_PARAMS))
def test_trainable_params_equal_torchvision(name):
    model = kr.create_model(name, weights=None)
    trainable = trainable_params(model)
    assert trainable == TRAINABLE_PARAMS[name]


@pytest.mark.backend
@pytest.mark.parametrize("name", ["resnet18", "resnet18v2", "resnet50", "resnet50v2"])
def test_forward_shapes_and_pooling(name):
    images = random_images((2, 64, 64, 3))
    model = kr.create_model(name, weights=None, classes=5, input_shape=(64, 64, 3))
    probs = logits(model, images)
    assert probs.shape == (2, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)

    features = kr.create_model(name, weights=None, include_top=False)
    channels = features.output.shape[-1]
    assert logits(features, images).shape == (2, 2, 2, channels)
    for pooling in ("avg", "max"):
        pooled = kr.create_model(name, weights=None, include_top=False, pooling=pooling)
        assert logits(pooled, images).shape == (2, channels)


def test_input_tensor_is_used_as_the_input():
    inputs = keras.Input((48, 48, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    model = kr.ResNet18(input_tensor=x, include_top=False, weights=None, pooling="avg")
    assert model.inputs[0] is inputs
    assert model.output.shape == (None, 512)


def test_list_models_and_pattern():
    names = kr.list_models()
    assert names == sorted(names)
    for expected in ("resnet18", "resnet152", "resnet50v2", "resnet152v2"):
        assert expected in names
    assert kr.list_models("resnet*v2") == [n for n in names if n.startswith("resnet") and n.endswith("v2")]


def test_unknown_name_lists_the_closest():
    with pytest.raises(ValueError, match="Did you mean: .*resnet50"):
        kr.create_model("resnet5O")


def test_model_info_counts_and_weights():
    info = kr.model_info("resnet50")
    assert info["params"] == TOTAL_PARAMS["resnet50"]
    # 3.86 GMACs for the Caffe layout (stride in the 1x1) at 224 px.
    assert 3.8e9 < info["macs"] < 3.9e9
    assert info["preprocessing"] == "caffe"
    assert "imagenet" in info["weights"]
    assert kr.model_info("resnet50v2")["preprocessing"] == "tf"


def test_entrypoint_signature_is_the_keras_one():
    params = inspect.signature(kr.ResNet50V2).parameters
    assert list(params)[:8] == [
        "include_top",
        "weights",
        "input_tensor",
        "input_shape",
        "pooling",
        "classes",
        "classifier_activation",
        "name",
    ]
    assert params["weights"].default == "imagenet"
    assert "ResNet50V2" in kr.ResNet50V2.__doc__


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(weights="imagenet", classes=10), "`classes` should be 1000"),
        (dict(weights="imagenet", input_shape=(128, 128, 3)), "`input_shape` should be"),
        (dict(weights="imagenet", include_top=False, input_shape=(64, 64, 1)), "3 channels"),
        (dict(weights=None, input_shape=(31, 64, 3)), "at least 32x32"),
        (dict(weights=None, input_shape=(None, None, 3)), "static `input_shape`"),
        (dict(weights=None, input_shape=(64, 64)), "three integers"),
        (dict(weights=None, include_top=False, pooling="mean"), "`pooling` must be"),
        (dict(weights="imagenet21k"), "pretrained tags of ResNet50.*'imagenet'"),
        (dict(weights="/no/such/file.h5"), "path to the weights file"),
    ],
)
def test_misuse_gets_the_keras_applications_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kr.ResNet50(**kwargs)


def test_classifier_activation_is_restricted_with_pretrained_weights(tmp_path):
    path = str(tmp_path / "w.weights.h5")
    kr.ResNet18(weights=None, input_shape=(32, 32, 3), classes=3).save_weights(path)
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        kr.ResNet18(weights=path, input_shape=(32, 32, 3), classes=3, classifier_activation="relu")
    logits = kr.ResNet18(weights=path, input_shape=(32, 32, 3), classes=3, classifier_activation=None)
    assert logits.get_layer("predictions").activation is keras.activations.linear


@pytest.mark.backend
@pytest.mark.parametrize("name", ["resnet18", "resnet50v2", "resnet20", "highwaynet20", "wrn-10-2"])
def test_channels_first_matches_channels_last(name):
    if keras.backend.backend() == "tensorflow":
        pytest.skip("TensorFlow has no channels_first convolutions on the CPU.")
    images = random_images((2, 64, 64, 3))
    last = randomize_weights(kr.create_model(name, weights=None, input_shape=(64, 64, 3)))
    keras.config.set_image_data_format("channels_first")
    try:
        first = kr.create_model(name, weights=None, input_shape=(3, 64, 64))
        first.set_weights(last.get_weights())  # kernels are laid out alike in both formats
        out_first = first.predict(images.transpose(0, 3, 1, 2), verbose=0)
    finally:
        keras.config.set_image_data_format("channels_last")
    np.testing.assert_allclose(out_first, last.predict(images, verbose=0), atol=1e-5)
