"""apps/study.py and keras_resnets.studies: every study end to end at a tiny setting, block
deletion checked against what the real CIFAR-10 checkpoints do, gradients on every backend."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import shared_data
from keras_resnets.studies import data, graph, gradients, nets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))
import study  # noqa: E402

TINY = ["--width", "4", "--epochs", "1", "--train-images", "64", "--limit", "40"]
JPEG_NPZ = "cifar10_test_yoongikim_jpeg.npz"


@pytest.fixture
def cifar_weights(monkeypatch, tmp_path):
    """A KERAS_HOME holding the real akamaster checkpoints, as if downloaded."""
    models = tmp_path / "keras_home" / "models"
    models.mkdir(parents=True)
    for path in shared_data("cifar10-pretrained").glob("resnet*.th"):
        (models / path.name).symlink_to(path)
    monkeypatch.setenv("KERAS_HOME", str(models.parent))


def cifar_test():
    return data.load(shared_data("cifar10-test"))


def results(folder, study_name):
    return json.loads((folder / f"study-{study_name}" / "results.json").read_text())


def test_cifar_split_is_disjoint_balanced_and_interleaved():
    d = cifar_test()
    assert len(d.train[1]) == 8000 and len(d.held_out[1]) == 2000 and len(d.test[1]) == 10000
    assert np.bincount(d.held_out[1][:20]).tolist() == [2] * 10  # every prefix is balanced
    train = {x.tobytes() for x in d.train[0][:500]}
    assert not train & {x.tobytes() for x in d.held_out[0]}


def test_photo_folder_is_squashed_to_cifar_size():
    d = data.load(shared_data("flowers-mini"))
    assert d.train[0].shape[1:] == (32, 32, 3) and len(d.class_names) == 5
    assert len(d.train[1]) + len(d.held_out[1]) == 300


def test_no_deletion_is_the_real_resnet56_and_one_deletion_is_not(cifar_weights):
    model = nets.build("resnet56", "cifar10")
    images, labels, _ = cifar_test().limited(200).evaluation(trained_here=False)
    probs = model.predict(images, verbose=0)
    intact = graph.lesioned(model, []).predict(images, verbose=0)
    np.testing.assert_array_equal(intact, probs)  # the same computation, bit for bit
    lesioned = graph.lesioned(model, ["conv3_block5"])
    assert len(lesioned.layers) == len(model.layers) - 6  # two conv, two BN, ReLU, Add
    assert not np.array_equal(lesioned.predict(images, verbose=0), probs)
    lossless = np.load(shared_data("cifar10-test") / "cifar10_test_first20_lossless_foolbox.npz")
    correct = np.argmax(graph.lesioned(model, []).predict(lossless["x"].astype("float32"), verbose=0), -1)
    assert np.sum(correct == lossless["y"]) == 20  # as the original PyTorch ResNet56


def test_deleting_blocks_follows_the_skip_path():
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    weighted = nets.build("weightedresnet14", width=4)  # lambda = 0: every block is its shortcut
    everything = graph.lesioned(weighted, graph.blocks(weighted))
    np.testing.assert_array_equal(everything.predict(images, verbose=0), weighted.predict(images, verbose=0))
    plain = nets.build("plainnet14", width=4)
    assert graph.removable(plain, downsampling=True) == graph.removable(plain)
    assert "conv3_block1" not in graph.removable(plain)
    with pytest.raises(ValueError, match="no skip path"):
        graph.lesioned(plain, ["conv3_block1"])
    two = graph.lesioned(plain, ["conv2_block1", "conv2_block2"])  # the stem feeds conv2_block3
    assert "conv2_block1_1_conv" not in {layer.name for layer in two.layers}
    stem = keras.Model(plain.input, plain.get_layer("conv1_relu").output)
    rest = keras.Model(plain.get_layer("conv2_block2_out").output, plain.output)
    expected = rest.predict(stem.predict(images, verbose=0), verbose=0)
    np.testing.assert_allclose(two.predict(images, verbose=0), expected, atol=1e-6)


@pytest.mark.slow  # the lesion code paths: the two tests above; the study app: test_training_studies_end_to_end
def test_lesion_study_end_to_end(cifar_weights, tmp_path):
    args = ["lesion", "--model", "resnet20", "--plain", "plainnet8", "--k-max", "1", "--samples", "1"]
    assert study.main([*args, *TINY, "--data", str(shared_data("cifar10-test")), "--output-dir", str(tmp_path)]) == 0
    out = results(tmp_path, "lesion")
    resnet = out["nets"]["resnet20"]["curves"]
    images, labels, _ = cifar_test().limited(40).evaluation(trained_here=False)
    reference = nets.build("resnet20", "cifar10").predict(images, verbose=0)
    assert resnet["full"] == np.mean(np.argmax(reference, -1) == labels)
    assert len(resnet["single"]) == 9 and resnet["downsampling"] == ["conv3_block1", "conv4_block1"]
    assert set(out["nets"]["plainnet8"]["curves"]["single"]) == {"conv2_block1"}
    assert "held-out" in out["nets"]["plainnet8"]["evaluated_on"]
    assert (tmp_path / "study-lesion" / "lesion.png").stat().st_size > 10_000


def test_training_studies_end_to_end_and_resume(tmp_path, capsys):
    common = [*TINY, "--data", str(shared_data("cifar10-test")), "--output-dir", str(tmp_path)]
    study.main(["degradation", "--depths", "8,14", *common])
    first = results(tmp_path, "degradation")
    assert set(first["histories"]) == {"plainnet8", "resnet8", "plainnet14", "resnet14"}
    assert "1 epoch on 64 images" in first["summary"][-1]
    capsys.readouterr()
    study.main(["degradation", "--depths", "8,14", *common])  # finished: loaded, not retrained
    assert "epoch 1/1" not in capsys.readouterr().out
    assert results(tmp_path, "degradation")["histories"] == first["histories"]
    with pytest.raises(SystemExit, match="Delete that folder"):
        study.main(["degradation", "--depths", "8,14", *common, "--lr", "0.05"])

    study.main(["gradients", "--model", "plainnet,weightedresnet", "--depth", "8", "--probe-images", "16", *common])
    histories = results(tmp_path, "gradients")["histories"]
    initial = histories["weightedresnet8"][0]["gradient_norms"]
    assert initial["conv1_conv"] > 0 and all(v == 0 for k, v in initial.items() if k != "conv1_conv")
    plain = histories["plainnet8"][0]["gradient_norms"]
    assert "conv1_conv" in plain and all(v > 0 for v in plain.values())

    study.main(["gates", "--model", "highwaynet8", *common])
    gates = results(tmp_path, "gates")
    assert list(gates["initial"]) == ["conv2_block1", "conv3_block1", "conv4_block1"]
    assert all(abs(s["bias"] + 2) < 1e-6 for s in gates["initial"].values())
    for name in ("degradation", "gradients", "gates"):
        assert (tmp_path / f"study-{name}" / f"{name}.png").exists()


def test_bad_options_say_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="neither 'cifar10' nor a folder"):
        study.main(["gates", "--data", str(tmp_path / "missing"), "--output-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="no transform gates"):
        study.main(["gates", "--model", "resnet20", "--output-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="Unknown net"):
        study.main(["degradation", "--model", "plainnet,vgg", "--output-dir", str(tmp_path)])


@pytest.mark.backend
def test_gradient_norms_leave_the_model_untouched():
    keras.utils.set_random_seed(0)
    model = nets.build("resnet8", width=4)
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.variables]
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    norms = gradients.kernel_gradient_norms(model, images, rng.integers(0, 10, 8))
    assert list(norms) == [layer.name for layer in gradients.measured_layers(model)]
    assert len(norms) == 7 and all(np.isfinite(v) and v > 0 for v in norms.values())
    for old, new in zip(before, model.variables):  # BatchNorm statistics included
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
