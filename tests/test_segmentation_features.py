"""The feature pyramid of every family (`keras_resnets.features`, `pyramid_level_inputs`):
taps at the right strides on every backend, dilated backbones that keep their weights."""

import importlib.util
import os
import subprocess
import sys
import numpy as np
import pytest

import keras_resnets as kr
from helpers import SHARED_DATA

SIZE = 64
IMAGENET_LEVELS = ("P2", "P3", "P4", "P5")
CIFAR_LEVELS = ("P0", "P1", "P2")
# One model per family / layout; building each costs a second or a few (DenseNet, DPN).
FAMILIES = {
    "resnet18": IMAGENET_LEVELS,  # v1 basic blocks, torchvision layout
    "resnet50": IMAGENET_LEVELS,  # v1 bottleneck, keras.applications layout
    "resnet50v2": IMAGENET_LEVELS,  # pre-activation, stride in a stage's last block
    "resnet18d": IMAGENET_LEVELS,  # resnet_bd: deep stem, average-pool shortcuts
    "resnext50_32x4d": IMAGENET_LEVELS,  # grouped convolutions
    "seresnet18": IMAGENET_LEVELS,  # squeeze-and-excitation
    "densenet121": IMAGENET_LEVELS,  # dense blocks, pooling transitions
    "dpn68": IMAGENET_LEVELS,  # dual-path blocks
    "plainnet18": IMAGENET_LEVELS,  # no shortcuts
    "resnet20": CIFAR_LEVELS,  # CIFAR stem (stride 1)
    "wrn16_8": CIFAR_LEVELS,  # wide CIFAR net, pre-activation
    "highwaynet20": CIFAR_LEVELS,  # gated shortcuts
    "weightedresnet20": CIFAR_LEVELS,  # weighted residuals
}
# keras.applications' layer names, as keras-cv's task models expect them (NOTES.md).
KNOWN_TAPS = {
    "resnet50": {"P2": "conv2_block3_out", "P3": "conv3_block4_out", "P4": "conv4_block6_out",
                 "P5": "conv5_block3_out"},
    "resnet50v2": {"P2": "conv2_block2_out", "P3": "conv3_block3_out", "P4": "conv4_block5_out",
                   "P5": "post_relu"},
}  # fmt: skip


def spatial(model):
    return {level: tuple(t.shape[1:3]) for level, t in model.output.items()}


@pytest.mark.backend
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_taps_its_pyramid_at_the_right_strides(name):
    network = kr.create_model(name, weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
    levels = FAMILIES[name]
    assert sorted(network.pyramid_level_inputs) == sorted(levels)
    if name in KNOWN_TAPS:
        assert network.pyramid_level_inputs == KNOWN_TAPS[name]
    backbone = kr.features(network, levels=levels)
    expected = {level: (SIZE >> int(level[1:]),) * 2 for level in levels}
    assert spatial(backbone) == expected
    # The deepest tap is the backbone's own output: nothing is left out after it.
    assert backbone.output[levels[-1]].shape == network.output.shape
    assert backbone.pyramid_level_inputs == network.pyramid_level_inputs


@pytest.mark.backend
def test_features_by_name_runs_and_rejects_unknown_levels():
    backbone = kr.features("resnet18", levels=("P2", "P4"), weights=None, input_shape=(SIZE, SIZE, 3))
    out = backbone.predict(np.zeros((1, SIZE, SIZE, 3), "float32"), verbose=0)
    assert {k: v.shape for k, v in out.items()} == {"P2": (1, 16, 16, 64), "P4": (1, 4, 4, 256)}
    with pytest.raises(ValueError, match="no level"):
        kr.features(backbone, levels=("P6",))


@pytest.mark.backend
@pytest.mark.parametrize(
    "name,output_stride",
    [("resnet18", 16), ("resnet50v2", 8)],
)
def test_dilated_backbone_loads_pretrained_weights(tmp_path, name, output_stride):
    """A weights file of the plain network loads into its dilated version: same weights,
    same features up to the dilated stages, deeper taps at `output_stride`."""
    shape = (SIZE, SIZE, 3)
    plain = kr.create_model(name, weights=None, include_top=False, input_shape=shape)
    path = tmp_path / f"{name}.weights.h5"
    plain.save_weights(path)
    dilated = kr.create_model(name, weights=str(path), include_top=False, input_shape=shape, output_stride=output_stride)
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), dilated.get_weights()))
    levels = ("P2", "P3", "P4", "P5")
    got = spatial(kr.features(dilated, levels=levels))
    assert got == {level: (SIZE // min(2 ** int(level[1:]), output_stride),) * 2 for level in levels}

    images = np.random.default_rng(0).uniform(0, 1, (2, *shape)).astype("float32")
    undilated = kr.features(plain, levels=("P3",)).predict(images, verbose=0)["P3"]
    same_stage = kr.features(dilated, levels=("P3",)).predict(images, verbose=0)["P3"]
    np.testing.assert_allclose(same_stage, undilated, atol=1e-5)


def test_real_cifar_checkpoint_converts_into_a_dilated_backbone():
    """The real ResNet20 CIFAR-10 checkpoint (PyTorch, converted on load) with its last stage
    dilated: the CIFAR stem has stride 1, so output_stride 2 keeps P2 at stride 2."""
    pytest.importorskip("torch")
    checkpoint = SHARED_DATA / "cifar10-pretrained" / "resnet20-12fca82f.th"
    if not checkpoint.exists():
        pytest.skip(f"{checkpoint} is absent (the workplace's shared data).")
    shape = (32, 32, 3)
    plain = kr.create_model("resnet20", weights=str(checkpoint), include_top=False, input_shape=shape)
    dilated = kr.create_model("resnet20", weights=str(checkpoint), include_top=False, input_shape=shape, output_stride=2)
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), dilated.get_weights()))
    assert spatial(kr.features(dilated, levels=CIFAR_LEVELS)) == {"P0": (32, 32), "P1": (16, 16), "P2": (16, 16)}
    with pytest.raises(ValueError, match="power of 2"):
        kr.create_model("resnet20", weights=None, include_top=False, input_shape=shape, output_stride=3)


# torchvision's dilated ResNet50 with seeded weights and BN statistics, run in a torch-only
# process (torchvision imported after TensorFlow crashes the interpreter).
TORCHVISION_DILATED = """
import sys
import numpy as np, torch, torchvision
torch.manual_seed(0)
net = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, True])
for module in net.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.1, 0.1)
        module.running_var.uniform_(0.5, 1.5)
net.eval()
torch.save(net.state_dict(), sys.argv[1] + "/resnet50.pth")
images = np.load(sys.argv[1] + "/images.npy")
with torch.no_grad():
    x = torch.from_numpy(images.transpose(0, 3, 1, 2))
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
        x = stage(x)
np.save(sys.argv[1] + "/expected.npy", x.numpy().transpose(0, 2, 3, 1))
"""


def test_dilated_resnet50_matches_torchvision_replace_stride_with_dilation(tmp_path):
    """torchvision's dilated ResNet50 (seeded random weights, converted on load) and ours at
    output_stride 16 compute the same features: the block that gives up the stride keeps the
    previous dilation, the blocks after it take the new one."""
    missing = [m for m in ("torch", "torchvision") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the reference needs {', '.join(missing)} (pip install -r requirements-dev.txt)")
    images = np.random.default_rng(0).uniform(-1, 1, (1, SIZE, SIZE, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", TORCHVISION_DILATED, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.load(tmp_path / "expected.npy")
    ours = kr.create_model(
        "resnet50b", weights=str(tmp_path / "resnet50.pth"), include_top=False,
        input_shape=(SIZE, SIZE, 3), output_stride=16,
    )  # fmt: skip
    np.testing.assert_allclose(ours.predict(images, verbose=0), expected, atol=1e-5 * np.abs(expected).max() * 100)
