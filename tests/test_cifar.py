"""CIFAR ResNets and WRNs: architecture facts, and the real akamaster CIFAR-10 weights.

The checkpoints and images are the workplace's shared copies (../shared/data); the
download path is exercised by placing a checkpoint in a temporary KERAS_HOME cache, with
`keras.utils.get_file` replaced so that no URL is ever reached.
"""

import shutil

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.core.analysis import trainable_params
from keras_resnets import cifar, convert
from keras_resnets import weights as weights_lib
from helpers import random_images, randomize_weights, shared_data

# Trainable parameters; akamaster's README gives 0.27M/0.46M/0.66M/0.85M/1.7M/19.4M and
# the WRN paper 36.5M for WRN-28-10 (CIFAR-10).
TRAINABLE = {
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "wrn16_8": 10_961_370,
    "wrn28_10": 36_479_194,
    "wrn40_4": 8_949_210,
}
# Top-1 of the original PyTorch code on the shared files (cifar10-test/PROVENANCE.md).
FIRST20_CORRECT = {"resnet20": 20, "resnet32": 19, "resnet44": 20, "resnet56": 20}
JPEG_ACCURACY = {"resnet20": 81.03, "resnet32": 82.56, "resnet44": 82.67, "resnet56": 83.20}
# The models with a "cifar10" row: the published akamaster checkpoints.
CIFAR10_MODELS = sorted(e.model for e in weights_lib.TABLE if e.tag == "cifar10")



def checkpoint(name):
    fname = weights_lib.find(name, "cifar10").url.rsplit("/", 1)[1]
    return shared_data("cifar10-pretrained") / fname


def refuse_downloads(monkeypatch):
    def no_network(fname, origin, **kwargs):
        raise OSError(f"test is offline: {origin} must not be reached")

    monkeypatch.setattr(weights_lib.keras.utils, "get_file", no_network)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A KERAS_HOME whose models/ holds the four checkpoints, as if downloaded before."""
    home = tmp_path_factory.mktemp("keras_home")
    (home / "models").mkdir()
    for name in FIRST20_CORRECT:
        shutil.copy(checkpoint(name), home / "models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_HOME", str(home))
        refuse_downloads(mp)
        yield home


def first20():
    data = np.load(shared_data("cifar10-test") / "cifar10_test_first20_lossless_foolbox.npz")
    return data["x"].astype("float32"), data["y"]


# Counts only (TensorFlow): a spec builds the same layers on every backend; the forward and
# conversion tests below rebuild the families under JAX and PyTorch.
@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_trainable_params(name):
    model = kr.create_model(name, weights=None, input_shape=(32, 32, 3))
    assert trainable_params(model) == TRAINABLE[name]
    assert model.output.shape == (None, 10)
    assert name in kr.list_models()


@pytest.mark.slow  # the CIFAR spec's counts: the tests above (resnet20-110)
# Counts only (TensorFlow), as above.
def test_resnet1202_builds_with_19_4m_params():
    assert trainable_params(kr.ResNet1202(input_shape=(32, 32, 3))) == 19_421_274


@pytest.mark.parametrize("name", CIFAR10_MODELS)
def test_checkpoint_names_carry_their_sha256_prefix(name):
    entry = weights_lib.find(name, "cifar10")
    fname, sha256 = entry.url.rsplit("/", 1)[1], entry.file_hash
    assert (entry.layout, entry.classes, entry.resolution) == ("akamaster_cifar", 10, 32)
    assert len(sha256) == 64
    assert entry.preprocessing == "torch"
    assert entry.url.endswith("/pretrained_models/" + fname)
    assert fname.rsplit("-", 1)[1] == sha256[:8] + ".th"
    assert weights_lib.file_hash(checkpoint(name), "sha256") == sha256


@pytest.mark.parametrize("name", CIFAR10_MODELS)
def test_our_trainable_params_are_the_checkpoints(name):
    state = convert.read_checkpoint(checkpoint(name))
    learned = sum(v.size for k, v in state.items() if not k.endswith(("running_mean", "running_var")))
    assert learned == TRAINABLE[name]


def torch_reference(state, n):
    """akamaster's ResNet (resnet.py at d5489e8), written functionally: option-A shortcut
    `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`, padding 1."""
    import torch
    import torch.nn.functional as F

    t = {k: torch.from_numpy(v) for k, v in state.items()}

    def bn(x, p):
        return F.batch_norm(
            x, t[f"{p}.running_mean"], t[f"{p}.running_var"], t[f"{p}.weight"], t[f"{p}.bias"],
            training=False, eps=1e-5,
        )

    def forward(x):
        x = F.relu(bn(F.conv2d(x, t["conv1.weight"], padding=1), "bn1"))
        for stage in (1, 2, 3):
            for i in range(n):
                p, stride = f"layer{stage}.{i}", 2 if stage > 1 and i == 0 else 1
                out = F.relu(bn(F.conv2d(x, t[f"{p}.conv1.weight"], stride=stride, padding=1), f"{p}.bn1"))
                out = bn(F.conv2d(out, t[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
                if stride != 1 or x.shape[1] != out.shape[1]:
                    pad = out.shape[1] // 4
                    x = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))
                x = F.relu(out + x)
        x = F.avg_pool2d(x, x.shape[3]).flatten(1)
        return F.linear(x, t["linear.weight"], t["linear.bias"])

    return forward


@pytest.mark.backend
@pytest.mark.parametrize("name", sorted(FIRST20_CORRECT))
def test_first20_lossless_like_the_pytorch_reference(cache, name):
    import torch

    images, labels = first20()
    model = kr.create_model(name, weights="cifar10", classifier_activation=None)
    logits = keras.ops.convert_to_numpy(model(cifar.preprocess_input(images.copy()), training=False))
    assert (logits.argmax(axis=1) == labels).sum() == FIRST20_CORRECT[name]

    nchw = np.transpose(cifar.preprocess_input(images.copy()), (0, 3, 1, 2))
    n = kr.get_spec(name).depths[0]
    with torch.no_grad():
        reference = torch_reference(convert.read_checkpoint(checkpoint(name)), n)(torch.from_numpy(nchw))
    np.testing.assert_allclose(logits, reference.numpy(), atol=1e-4)


# ResNet20 in `make test`; the deeper ones take the same code (and their first 20 images
# are checked above).
@pytest.mark.parametrize(
    "name", [n if n == "resnet20" else pytest.param(n, marks=pytest.mark.slow) for n in sorted(JPEG_ACCURACY)]
)
def test_10k_jpeg_accuracy_equals_the_pytorch_reference(cache, name):
    data = np.load(shared_data("cifar10-test") / "cifar10_test_yoongikim_jpeg.npz")
    model = kr.create_model(name, weights="cifar10")
    probs = model.predict(cifar.preprocess_input(data["x"].astype("float32")), batch_size=500, verbose=0)
    accuracy = 100.0 * float(np.mean(probs.argmax(axis=1) == data["y"]))
    assert accuracy == pytest.approx(JPEG_ACCURACY[name], abs=0.05)


def test_download_path_converts_once_then_loads_plain_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    refuse_downloads(monkeypatch)
    (tmp_path / "models").mkdir()
    shutil.copy(checkpoint("resnet20"), tmp_path / "models")

    images = cifar.preprocess_input(first20()[0])

    def load():
        top = kr.ResNet20(weights="cifar10")
        notop = kr.ResNet20(weights="cifar10", include_top=False, pooling="avg", input_shape=(64, 64, 3))
        return top.predict(images, verbose=0), notop.get_weights()

    first = load()
    for suffix in ("", "_notop"):
        assert (tmp_path / "models" / f"resnet20-12fca82f.resnet20{suffix}.weights.h5").exists()

    def no_torch(path):
        raise AssertionError("the second load must not read the checkpoint")

    monkeypatch.setattr(convert, "read_checkpoint", no_torch)
    second = load()
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)


def test_corrupt_cached_checkpoint_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    refuse_downloads(monkeypatch)
    (tmp_path / "models").mkdir()
    corrupt = tmp_path / "models" / "resnet20-12fca82f.th"
    corrupt.write_bytes(checkpoint("resnet20").read_bytes()[:-100])
    with pytest.raises(kr.WeightsUnavailableError, match="fails its sha256 check"):
        kr.ResNet20(weights="cifar10")
    assert not (tmp_path / "models" / "resnet20-12fca82f.resnet20.weights.h5").exists()


def test_checkpoint_that_does_not_fit_names_the_tensors_and_loads_nothing():
    state = convert.read_checkpoint(checkpoint("resnet20"))
    model = randomize_weights(kr.ResNet20(weights=None, input_shape=(32, 32, 3)), seed=3)
    before = [w.copy() for w in model.get_weights()]

    broken = dict(state)
    del broken["layer3.2.conv2.weight"]
    broken["layer4.0.conv1.weight"] = state["layer3.0.conv1.weight"]
    broken["linear.weight"] = state["linear.weight"][:5]
    with pytest.raises(convert.CheckpointMismatchError) as error:
        convert.convert(model, broken, kr.get_spec("resnet20"))
    message = str(error.value)
    for tensor in ("layer3.2.conv2.weight", "layer4.0.conv1.weight", "predictions"):
        assert tensor in message
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)

    deeper = kr.ResNet32(weights=None, input_shape=(32, 32, 3))
    with pytest.raises(convert.CheckpointMismatchError, match="layer1.3.conv1.weight"):
        convert.convert(deeper, state, kr.get_spec("resnet32"))


def test_option_a_shortcut_pads_zero_channels_equally_before_and_after():
    model = kr.ResNet20(weights=None, input_shape=(32, 32, 3), include_top=False)
    inputs = model.get_layer("conv2_block3_out").output
    shortcut = keras.Model(model.input, [inputs, model.get_layer("conv3_block1_0_channel_pad").output])
    x, padded = shortcut.predict(random_images((2, 32, 32, 3)), verbose=0)
    expected = np.pad(x[:, ::2, ::2, :], [(0, 0), (0, 0), (0, 0), (8, 8)])
    np.testing.assert_array_equal(padded, expected)


def test_wrn_names_build_any_depth_and_width():
    assert kr.get_spec("wrn-28-10") == kr.get_spec("wrn28_10")
    model = kr.create_model("wrn-10-2", dropout=0.3, input_shape=(32, 32, 3))
    assert model.get_layer("conv2_block1_1_dropout").rate == 0.3
    assert model.get_layer("conv4_block1_out").output.shape == (None, 8, 8, 128)
    with pytest.raises(ValueError, match="6n\\+4"):
        kr.create_model("wrn-27-10")


def test_weights_need_ten_classes():
    with pytest.raises(ValueError, match="classes"):
        kr.ResNet20(weights="cifar10", classes=100)


def test_model_info_counts_the_ten_class_model():
    info = kr.model_info("resnet20")
    assert (info["trainable_params"], info["input_size"]) == (TRAINABLE["resnet20"], 32)
    assert info["weights"]["cifar10"]["license"].startswith("BSD-2-Clause")
