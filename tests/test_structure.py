"""The house rules: explicit tables, the spec that travels to the converter, preprocessing
inside the model, and the keras.applications drop-in behaviour."""

import dataclasses
import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras.applications import densenet as keras_densenet
from keras.applications import resnet as keras_resnet
from keras.applications import resnet_v2 as keras_resnet_v2

import keras_resnets as kr
from keras_resnets import imagenet, registry
from keras_resnets import weights as weights_lib
from keras_resnets.core import builder
from helpers import (
    ROOT, logits, needs_torch, random_images, randomize_weights, reference_checkpoint, reference_images, shared_data,
)  # fmt: skip

SHAPE = (32, 32, 3)


def test_a_family_module_works_alone_in_a_fresh_process(tmp_path):
    """Only keras_resnets.cifar is imported, then ResNet20 loads its real CIFAR-10 file."""
    pytest.importorskip("torch", reason="the akamaster checkpoints are torch pickles")
    entry = weights_lib.find("resnet20", "cifar10")
    checkpoint = shared_data("cifar10-pretrained") / entry.url.rsplit("/", 1)[1]
    (tmp_path / "models").mkdir()
    os.symlink(checkpoint, tmp_path / "models" / checkpoint.name)
    script = textwrap.dedent(
        """
        import inspect, sys
        import numpy as np
        import keras_resnets.cifar as cifar
        loaded = sorted(m for m in sys.modules if m.startswith("keras_resnets"))
        others = [m for m in loaded if m.split(".")[1:2] in (["resnet"], ["densenet"], ["convert"])]
        assert not others and "keras_resnets.registry" not in loaded, loaded
        from keras_resnets import weights
        rows = {(e.model, e.tag) for e in weights.TABLE}
        assert {("densenet121", "tv_in1k"), ("dpn68", "timm_mx_in1k"), ("resnet20", "cifar10")} <= rows
        assert inspect.signature(cifar.ResNet20).parameters["weights"].default == "cifar10"
        data = np.load(sys.argv[1])
        model = cifar.ResNet20(weights="cifar10")
        probs = model.predict(cifar.preprocess_input(data["x"].astype("float32")), verbose=0)
        print(int((probs.argmax(-1) == data["y"].ravel()).sum()))
        """
    )
    first20 = shared_data("cifar10-test") / "cifar10_test_first20_lossless_foolbox.npz"
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(first20)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "20"  # the original PyTorch model's count too


def test_the_registry_is_every_entrypoint_of_the_family_modules():
    names = {fn.spec.registry_name for fn in registry.ENTRYPOINTS.values()}
    assert names == set(kr.list_models()) and len(names) == len(registry.ENTRYPOINTS) == 72
    for fn in registry.ENTRYPOINTS.values():
        assert getattr(sys.modules[fn.__module__], fn.__name__) is fn
        assert getattr(kr, fn.__name__) is fn


@needs_torch
@pytest.mark.parametrize(
    "base,options,reference_name",
    [
        ("resnet18", dict(attention="se"), "seresnet18"),
        ("resnet50b", dict(stem="deep", shortcut="avg_down"), "resnet50d"),
    ],
)
def test_converted_weights_load_through_the_built_spec(reference, base, options, reference_name):
    images = reference_images(reference)
    checkpoint = reference_checkpoint(reference, reference_name)
    model = kr.create_model(
        base, weights=str(checkpoint), input_shape=images.shape[1:], classifier_activation=None, **options
    )
    expected = np.load(reference / f"{reference_name}_logits.npy")
    np.testing.assert_allclose(logits(model, images), expected, atol=1e-4, rtol=0)


def test_a_changed_spec_never_shares_a_cached_conversion():
    spec = kr.get_spec("resnet18")
    changed = kr.create_model("resnet18", attention="se", weights=None, input_shape=SHAPE)
    assert changed.get_layer("conv2_block1_se_reduce").filters == 8  # there, with timm's rounding (64 -> 8)
    registered = weights_lib.cached_weights_path("/c/resnet18-f37072fd.pth", spec, True)
    assert registered == "/c/resnet18-f37072fd.resnet18.weights.h5"
    other = weights_lib.cached_weights_path("/c/resnet18-f37072fd.pth", dataclasses.replace(spec, attention="se"), True)
    assert other != registered and other.startswith("/c/resnet18-f37072fd.resnet18-")


@pytest.mark.backend
@pytest.mark.parametrize("mode", imagenet.MODES)
def test_include_preprocessing_equals_preprocess_input(mode):
    kwargs = dict(weights=None, input_shape=SHAPE, classes=5, preprocessing=mode)
    plain = randomize_weights(kr.create_model("resnet18", **kwargs), seed=4)
    inside = kr.create_model("resnet18", include_preprocessing=True, **kwargs)
    inside.set_weights(plain.get_weights())
    assert inside.get_layer("preprocess").mode == mode
    raw = np.random.default_rng(0).uniform(0, 255, (2, *SHAPE)).astype("float32")
    expected = plain.predict(imagenet.preprocess_input(raw.copy(), mode=mode), verbose=0)
    np.testing.assert_allclose(inside.predict(raw, verbose=0), expected, atol=1e-5, rtol=0)


def test_include_preprocessing_follows_the_weights_row(tmp_path, monkeypatch):
    """A row trained with other preprocessing than its spec's (DPN68b's timm_ra_in1k)."""
    monkeypatch.setattr(weights_lib, "TABLE", list(weights_lib.TABLE))
    source = randomize_weights(kr.create_model("resnet18", weights=None, input_shape=SHAPE, classes=3))
    path = tmp_path / "mine.weights.h5"
    source.save_weights(path)
    monkeypatch.setattr(weights_lib, "locate", lambda entry, include_top, spec: str(path))
    weights_lib.register(
        weights_lib.WeightsEntry("resnet18", "mine", "file:///x", None, classes=3, resolution=32, preprocessing="tf")
    )
    model = kr.ResNet18(weights="mine", classes=3, include_preprocessing=True)
    assert model.get_layer("preprocess").mode == "tf" != kr.get_spec("resnet18").preprocessing
    raw = random_images((1, *SHAPE)) * 127.5 + 127.5
    expected = source.predict(imagenet.preprocess_input(raw.copy(), mode="tf"), verbose=0)
    np.testing.assert_allclose(model.predict(raw, verbose=0), expected, atol=1e-5, rtol=0)
    assert kr.preprocess_input(raw.copy(), "resnet18", weights="mine") == pytest.approx(
        imagenet.preprocess_input(raw.copy(), mode="tf")
    )


def test_each_family_module_preprocesses_for_every_model_it_exports():
    raw = np.random.default_rng(1).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    for fn in registry.ENTRYPOINTS.values():
        module = sys.modules[fn.__module__]
        expected = imagenet.preprocess_input(raw.copy(), mode=fn.spec.preprocessing)
        np.testing.assert_allclose(module.preprocess_input(raw.copy()), expected, err_msg=fn.__name__)


def test_positional_arguments_work_as_in_keras_applications():
    model = kr.ResNet50(False, None, None, (96, 96, 3), "avg")
    reference = keras_resnet.ResNet50(False, None, None, (96, 96, 3), "avg")
    assert model.output.shape == reference.output.shape == (None, 2048)
    names = list(inspect.signature(kr.ResNet50).parameters)
    assert names[:8] == list(inspect.signature(keras_resnet.ResNet50).parameters)
    assert names[8] == "include_preprocessing"


@pytest.mark.parametrize(
    "ours,theirs",
    [(kr.resnet, keras_resnet), (kr.resnet_v2, keras_resnet_v2), (kr.densenet, keras_densenet)],
    ids=["resnet", "resnet_v2", "densenet"],
)
def test_preprocess_input_takes_data_format_positionally(ours, theirs):
    images = np.random.default_rng(2).uniform(0, 255, (2, 3, 8, 8)).astype("float32")
    np.testing.assert_allclose(
        ours.preprocess_input(images.copy(), "channels_first"),
        theirs.preprocess_input(images.copy(), "channels_first"),
        atol=1e-5,
    )


def test_decode_predictions_names_as_keras_applications():
    probs = np.zeros((2, 1000), dtype="float32")
    probs[0, 134] = probs[1, 639] = 1.0
    decoded = kr.decode_predictions(probs, top=1)
    assert [d[0][:2] for d in decoded] == [("n02012849", "crane"), ("n03710721", "maillot")]


def test_unknown_pooling_is_an_error_unlike_keras_applications():
    with pytest.raises(ValueError, match="`pooling` must be None, 'avg' or 'max'"):
        kr.ResNet18(include_top=False, weights=None, input_shape=SHAPE, pooling="bogus")


def test_missing_weights_fail_before_the_model_is_built(monkeypatch):
    def offline(url, expected_hash, **kwargs):
        raise weights_lib.WeightsUnavailableError(f"offline: {url}")

    def must_not_build(*args, **kwargs):
        raise AssertionError("the model was built before its weights file was found")

    monkeypatch.setattr(weights_lib, "fetch", offline)
    monkeypatch.setattr(builder, "_image_input", must_not_build)
    for constructor in (kr.DenseNet121, kr.DPN68, kr.ResNet50V2):
        weights = weights_lib.available(constructor.spec.registry_name)[0]
        with pytest.raises(weights_lib.WeightsUnavailableError, match="offline"):
            constructor(weights=weights)


def test_saved_models_load_after_a_plain_import(tmp_path):
    """`import keras_resnets` registers every custom layer (the API itself loads lazily)."""
    model = kr.create_model(
        "weightedresnet20", shortcut="highway", weights=None, include_preprocessing=True
    )  # ChannelPad, Highway, ResidualWeight and Preprocess in one model
    path = tmp_path / "model.keras"
    model.save(path)
    images = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "expected.npy", model.predict(images, verbose=0))
    script = (
        "import sys, keras, numpy as np, keras_resnets\n"
        "model = keras.saving.load_model(sys.argv[1] + '/model.keras')\n"
        "out = model.predict(np.load(sys.argv[1] + '/images.npy'), verbose=0)\n"
        "print(float(np.max(np.abs(out - np.load(sys.argv[1] + '/expected.npy')))))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert float(done.stdout.split()[-1]) < 1e-5
