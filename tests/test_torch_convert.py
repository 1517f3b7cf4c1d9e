"""PyTorch checkpoint conversion against the real torchvision/timm models.

The reference models, their checkpoints and their logits come from
`tests/torch_reference.py`, run once per session in a torch-only process (the
`reference` fixture, conftest.py).
"""

import hashlib
import json
import shutil

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets import convert
from keras_resnets import weights as weights_lib
from keras_resnets.convert import __main__ as cli
from helpers import (
    REFERENCE_PARAMS, logits, needs_torch, reference_checkpoint, reference_images, run_reference,
)  # fmt: skip

pytestmark = needs_torch


def _build(name, size):
    return kr.create_model(name, weights=None, input_shape=(size, size, 3), classifier_activation=None)


CASES = ["resnet18", "resnet50b", "wideresnet50_2", "resnext50_32x4d", "resnet50d", "seresnet18", "seresnet50", "cbamresnet50"]


@pytest.mark.backend
@pytest.mark.parametrize("name", CASES)
def test_converted_outputs_match_the_reference(reference, name):
    images = reference_images(reference)
    model = _build(name, images.shape[1])
    convert.load_checkpoint(model, reference_checkpoint(reference, name), kr.get_spec(name))
    got = logits(model, images)
    want = np.load(reference / f"{name}_logits.npy")
    assert np.abs(want).max() > 0.1  # a meaningful comparison, not two near-zero outputs
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_reference_counts_are_live():
    """REFERENCE_PARAMS (helpers.py) is what torchvision 0.29.1 and timm 1.0.31
    build today."""
    live = json.loads(run_reference("torch_reference.py", "--counts"))
    live.pop("resnet18")  # checked in test_models.py
    assert live == REFERENCE_PARAMS


def test_mismatch_names_every_tensor_and_loads_nothing(reference):
    from safetensors.numpy import load_file

    state = load_file(str(reference_checkpoint(reference, "seresnet18")))
    state.pop("layer1.0.se.fc1.bias")
    state["extra.weight"] = np.zeros(3, "float32")
    state["layer2.0.conv1.weight"] = state["layer2.0.conv1.weight"][:, :32]
    model = _build("seresnet18", 64)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(convert.CheckpointMismatchError) as info:
        convert.convert(model, state, kr.get_spec("seresnet18"))
    message = str(info.value)
    for part in ("layer1.0.se.fc1.bias", "extra.weight", "conv3_block1_1_conv", "nothing was loaded"):
        assert part in message
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_wrong_family_checkpoint_is_refused(reference):
    model = _build("resnet50d", 64)
    with pytest.raises(convert.CheckpointMismatchError, match="missing tensors: conv1.0.weight"):
        convert.load_checkpoint(model, reference_checkpoint(reference, "resnet50b"), kr.get_spec("resnet50d"))


def test_notop_conversion_skips_the_classifier(reference):
    """The checkpoint's classifier is left out and everything else loads: the pooled features
    are those of the converted full model (whose logits match the reference above)."""
    images = reference_images(reference)
    checkpoint, spec = reference_checkpoint(reference, "resnet18"), kr.get_spec("resnet18")
    model = kr.create_model("resnet18", weights=None, include_top=False, pooling="avg", input_shape=images.shape[1:])
    convert.load_checkpoint(model, checkpoint, spec)
    full = _build("resnet18", images.shape[1])
    convert.load_checkpoint(full, checkpoint, spec)
    pooled = keras.Model(full.input, full.get_layer("avg_pool").output)
    np.testing.assert_allclose(logits(model, images), logits(pooled, images), rtol=0, atol=1e-5)


def test_cli_converts_offline(reference, tmp_path, capsys):
    with pytest.raises(SystemExit) as help_exit:
        cli.main(["--help"])
    assert help_exit.value.code == 0
    assert "resnet50d" in capsys.readouterr().out
    out = tmp_path / "resnet18.weights.h5"
    args = ["--model", "resnet18", "--checkpoint", str(reference_checkpoint(reference, "resnet18"))]
    assert cli.main([*args, "--output", str(out)]) == 0
    images = reference_images(reference)
    model = kr.create_model("resnet18", weights=str(out), input_shape=images.shape[1:], classifier_activation=None)
    want = np.load(reference / "resnet18_logits.npy")
    np.testing.assert_allclose(logits(model, images), want, rtol=0, atol=1e-4)
    bad = ["--model", "resnet34", *args[2:], "--output", str(tmp_path / "x.weights.h5")]
    assert cli.main(bad) == 1
    assert "missing tensors" in capsys.readouterr().err


def test_table_loader_converts_once_then_loads_the_cache(reference, tmp_path, monkeypatch):
    """A torchvision-layout row whose file is already in the Keras cache (no network)."""
    checkpoint = reference_checkpoint(reference, "resnet18")
    prefix = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:8]
    fname = f"resnet18-{prefix}.pth"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    shutil.copy(checkpoint, tmp_path / "models" / fname)
    monkeypatch.setattr(weights_lib, "TABLE", list(weights_lib.TABLE))
    weights_lib.register(
        weights_lib.WeightsEntry(
            model="resnet18",
            tag="test_in1k",
            url="https://download.pytorch.org/models/" + fname,
            file_hash=prefix,
            layout="torch_resnet",
            resolution=72,
            preprocessing="torch",
        )
    )
    images = reference_images(reference)
    want = np.load(reference / "resnet18_logits.npy")
    first = kr.create_model("resnet18", weights="test_in1k", classifier_activation=None)
    notop = kr.create_model("resnet18", weights="test_in1k", include_top=False, pooling="avg")
    folder = tmp_path / "models"
    assert (folder / f"resnet18-{prefix}.resnet18.weights.h5").exists()
    assert (folder / f"resnet18-{prefix}.resnet18_notop.weights.h5").exists()
    (folder / fname).unlink()  # the second load needs only the converted file
    second = kr.create_model("resnet18", weights="test_in1k", classifier_activation=None)
    for model in (first, second):
        np.testing.assert_allclose(logits(model, images), want, rtol=0, atol=1e-4)
    features = kr.create_model("resnet18", weights="test_in1k", include_top=False, pooling="avg")
    np.testing.assert_allclose(features.predict(images, verbose=0), notop.predict(images, verbose=0))


def test_sha256_prefix_of_a_cached_file_is_checked(tmp_path, monkeypatch):
    """torchvision's file names carry a SHA-256 prefix; a cached file that fails it is not
    loaded (the re-download fails here: no network, or a 404 for this made-up name)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    good = tmp_path / "models" / "resnet18-00000000.pth"
    good.write_bytes(b"not the checkpoint")
    prefix = hashlib.sha256(good.read_bytes()).hexdigest()[:8]
    assert weights_lib.fetch("https://download.pytorch.org/models/x.pth", prefix, fname=good.name) == str(good)
    with pytest.raises(weights_lib.WeightsUnavailableError, match="fails its sha256 check"):
        weights_lib.fetch("https://download.pytorch.org/models/resnet18-00000000.pth", "00000000")
