"""PyTorch checkpoint conversion against the real torchvision/timm models.

The reference models, their checkpoints and their logits come from
`tests/torch_reference.py`, run once per session in a torch-only process.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets import convert
from keras_resnets.core import builder
from keras_resnets import weights as weights_lib
from keras_resnets.convert import __main__ as cli
from test_torch_family import REFERENCE_PARAMS

REFERENCE_SCRIPT = Path(__file__).with_name("torch_reference.py")
MISSING = [m for m in ("torch", "torchvision", "timm", "safetensors") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the PyTorch references need {', '.join(MISSING)} (pip install -r requirements-dev.txt)",
)


def _run_reference(*args):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, str(REFERENCE_SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def reference(request, tmp_path_factory):
    """The reference files, made once and kept in pytest's cache for the other backends'
    runs (keyed by the script's hash), or in a temporary folder without the cache."""
    key = hashlib.sha256(REFERENCE_SCRIPT.read_bytes()).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir(f"torch_reference_{key}") if cache else tmp_path_factory.mktemp("ref")
    if not (folder / "done").exists():
        _run_reference(str(folder))
        (folder / "done").touch()
    return folder


def _images(reference):
    return np.load(reference / "images_nchw.npy").transpose(0, 2, 3, 1)


def _checkpoint(reference, name):
    return next(reference.glob(f"{name}.*"))  # .pth or .safetensors


def _logits(model, images):
    return keras.ops.convert_to_numpy(model(images, training=False))


def _build(name, size):
    return kr.create_model(name, weights=None, input_shape=(size, size, 3), classifier_activation=None)


CASES = ["resnet18", "resnet50b", "wideresnet50_2", "resnext50_32x4d", "resnet50d", "seresnet18", "seresnet50", "cbamresnet50"]


@pytest.mark.backend
@pytest.mark.parametrize("name", CASES)
def test_converted_outputs_match_the_reference(reference, name):
    images = _images(reference)
    model = _build(name, images.shape[1])
    convert.load_checkpoint(model, _checkpoint(reference, name), kr.get_spec(name))
    got = _logits(model, images)
    want = np.load(reference / f"{name}_logits.npy")
    assert np.abs(want).max() > 0.1  # a meaningful comparison, not two near-zero outputs
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_reference_counts_are_live():
    """REFERENCE_PARAMS (test_torch_family.py) is what torchvision 0.29.1 and timm 1.0.31
    build today."""
    live = json.loads(_run_reference("--counts"))
    live.pop("resnet18")  # checked in test_models.py
    assert live == REFERENCE_PARAMS


def test_mismatch_names_every_tensor_and_loads_nothing(reference):
    from safetensors.numpy import load_file

    state = load_file(str(_checkpoint(reference, "seresnet18")))
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
        convert.load_checkpoint(model, _checkpoint(reference, "resnet50b"), kr.get_spec("resnet50d"))


def test_notop_conversion_skips_the_classifier(reference):
    model = kr.create_model("resnet18", weights=None, include_top=False, pooling="avg")
    convert.load_checkpoint(model, _checkpoint(reference, "resnet18"), kr.get_spec("resnet18"))


def test_cli_converts_offline(reference, tmp_path, capsys):
    with pytest.raises(SystemExit) as help_exit:
        cli.main(["--help"])
    assert help_exit.value.code == 0
    assert "resnet50d" in capsys.readouterr().out
    out = tmp_path / "resnet18.weights.h5"
    args = ["--model", "resnet18", "--checkpoint", str(_checkpoint(reference, "resnet18"))]
    assert cli.main([*args, "--output", str(out)]) == 0
    images = _images(reference)
    model = kr.create_model("resnet18", weights=str(out), input_shape=images.shape[1:], classifier_activation=None)
    want = np.load(reference / "resnet18_logits.npy")
    np.testing.assert_allclose(_logits(model, images), want, rtol=0, atol=1e-4)
    bad = ["--model", "resnet34", *args[2:], "--output", str(tmp_path / "x.weights.h5")]
    assert cli.main(bad) == 1
    assert "missing tensors" in capsys.readouterr().err


def test_table_loader_converts_once_then_loads_the_cache(reference, tmp_path, monkeypatch):
    """A torchvision-layout row whose file is already in the Keras cache (no network)."""
    checkpoint = _checkpoint(reference, "resnet18")
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
    images = _images(reference)
    want = np.load(reference / "resnet18_logits.npy")
    first = kr.create_model("resnet18", weights="test_in1k", classifier_activation=None)
    notop = kr.create_model("resnet18", weights="test_in1k", include_top=False, pooling="avg")
    folder = tmp_path / "models"
    assert (folder / f"resnet18-{prefix}.resnet18.weights.h5").exists()
    assert (folder / f"resnet18-{prefix}.resnet18_notop.weights.h5").exists()
    (folder / fname).unlink()  # the second load needs only the converted file
    second = kr.create_model("resnet18", weights="test_in1k", classifier_activation=None)
    for model in (first, second):
        np.testing.assert_allclose(_logits(model, images), want, rtol=0, atol=1e-4)
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
