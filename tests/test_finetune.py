"""apps/finetune.py parts that need no training: data checks, bad inputs, recipe, checkpoints.

The parts live in the library: keras_resnets.training (the core), keras_resnets.tasks
(classification) and keras_resnets.export.

Real training runs (TensorFlow and JAX, kill-and-resume, export checks) are in
test_finetune_runs.py.
"""

import csv
import importlib.util
import re
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import keras_resnets as kr
from helpers import ROOT, load_app, shared_data
from keras_resnets import imagenet
from keras_resnets import export
from keras_resnets.tasks import classification, images
from keras_resnets.tasks import classification_data as data
from keras_resnets.tasks import data as image_data
from keras_resnets.training import checkpoints, freezing, recipe
from keras_resnets.training import config as config_lib

finetune = load_app("finetune")


def make_folder(root, per_class=4, classes=("daisy", "roses")):
    """A small <class>/<image> folder of real flower photos from flowers-mini."""
    mini = shared_data("flowers-mini")
    for name in classes:
        (root / name).mkdir(parents=True)
        for path in sorted((mini / name).glob("*.jpg"))[:per_class]:
            shutil.copy(path, root / name / path.name)
    return root


def run_app(capsys, *argv):
    code = finetune.main(list(map(str, argv)))
    return code, capsys.readouterr().err


# ------------------------------------------------------------------------- data


def test_split_rule_reproduces_flowers_full_splits_csv():
    """The documented rule, applied to the file list, gives the shipped splits.csv."""
    folder = shared_data("flowers-full")
    files = {
        d.name: [p.relative_to(folder).as_posix() for p in d.glob("*.jpg")]
        for d in folder.iterdir()
        if d.is_dir()
    }
    ours = {(p, s) for s, rows in data.split_by_rule(files).items() for p, _ in rows}
    with open(folder / "splits.csv") as f:
        shipped = {(row["file"], row["split"]) for row in csv.DictReader(f)}
    assert ours == shipped


def test_folder_converts_formats_and_skips_unreadable_files(tmp_path, caplog):
    root = make_folder(tmp_path / "photos", per_class=8)
    daisy = sorted((root / "daisy").glob("*.jpg"))
    photo = Image.open(daisy[0])
    photo.convert("L").save(root / "daisy" / "gray.png")
    photo.convert("CMYK").save(root / "daisy" / "cmyk.jpg")
    photo.convert("P").save(root / "roses" / "palette.gif")
    photo.save(root / "roses" / "plain.bmp")
    (root / "roses" / "broken.jpg").write_bytes(daisy[1].read_bytes()[:300])
    (root / "roses" / "notes.jpg").write_text("not an image")
    (root / "roses" / "README.txt").write_text("ignored: no image extension")

    with caplog.at_level("WARNING", logger="keras_resnets.tasks.classification_data"):
        source = data.load_folder(root)
    assert sorted(Path(p).name for p, _ in source.skipped) == ["broken.jpg", "notes.jpg"]
    assert "broken.jpg" in caplog.text
    assert sum(s.count for s in source.splits.values()) == 8 + 2 + 8 + 2
    assert source.class_names == ["daisy", "roses"]
    batches = data.pipeline(source.splits["train"], 2, 40, batch_size=32)
    images, labels = next(iter(batches))
    assert images.shape[1:] == (40, 40, 3) and labels.shape[1] == 2
    assert 0 <= float(np.min(images)) and float(np.max(images)) <= 255


def test_splits_csv_is_honoured(tmp_path):
    root = make_folder(tmp_path / "photos", per_class=3)
    names = {c: sorted(p.name for p in (root / c).iterdir()) for c in ("daisy", "roses")}
    with open(root / "splits.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "class", "split"])
        for c, files in names.items():
            for name, split in zip(files, ("train", "val", "test")):
                writer.writerow([f"{c}/{name}", c, split])
    source = data.load_folder(root)
    assert {k: v.count for k, v in source.splits.items()} == {"train": 2, "val": 2, "test": 2}
    assert source.split_rule.endswith("splits.csv")


def test_load_image_matches_the_test_pipeline(tmp_path):
    root = make_folder(tmp_path / "photos", per_class=3)
    files = sorted(str(p) for p in root.glob("*/*.jpg"))
    ours = np.stack([images.load_image(p, 48).numpy() for p in files])
    split = data.Split(
        images.tf.data.Dataset.from_tensor_slices((files, [0] * len(files))).map(
            lambda p, y: (images.decode_file(p), y)
        ),
        len(files),
    )
    np.testing.assert_array_equal(ours, data.take_images(split, 48, len(files)))


def test_tfds_dataset_feeds_the_pipeline(tmp_path, monkeypatch):
    """The tfds path, offline: tfds's own mock data stands in for the download."""
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(image_data, "online", lambda: None)
    with tfds.testing.mock_data(num_examples=12):
        source = data.load_tfds("flowers", tmp_path)
        assert source.name == "tf_flowers" and len(source.class_names) == 5
        assert "train[70%:85%]" in source.split_rule
        # The records hold each file's encoded bytes, decoded as an example is made: a streamed
        # epoch shuffles bytes, not pixels.
        assert source.splits["train"].dataset.element_spec[0].dtype.name == "string"
        images, labels = next(iter(data.pipeline(source.splits["train"], 5, 32, 4, training=True)))
    assert images.shape == (4, 32, 32, 3) and labels.shape == (4, 5)


def test_tfds_split_plan():
    assert image_data.tfds_split_plan({"train"}) == {
        "train": "train[:70%]",
        "val": "train[70%:85%]",
        "test": "train[85%:]",
    }
    assert image_data.tfds_split_plan({"train", "test"})["val"] == "train[90%:]"
    assert image_data.tfds_split_plan({"train", "validation", "test"}) == {
        "train": "train",
        "val": "validation",
        "test": "test",
    }


# ------------------------------------------------------------------ bad inputs


def test_empty_class_is_an_error(tmp_path, capsys):
    root = make_folder(tmp_path / "photos")
    (root / "tulips").mkdir()
    code, err = run_app(capsys, "--data-dir", root, "--model", "resnet18")
    assert code == finetune.EXIT_USAGE
    assert "no images" in err and "tulips" in err


def test_class_of_unreadable_files_is_an_error(tmp_path, capsys):
    root = make_folder(tmp_path / "photos")
    (root / "tulips").mkdir()
    (root / "tulips" / "a.jpg").write_bytes(b"\xff\xd8 truncated")
    code, err = run_app(capsys, "--data-dir", root, "--model", "resnet18")
    assert code == finetune.EXIT_USAGE
    assert "no readable image: tulips" in err


@pytest.mark.parametrize("classes", [("daisy",), ()])
def test_fewer_than_two_classes_is_an_error(tmp_path, capsys, classes):
    root = tmp_path / "photos"
    root.mkdir()
    if classes:
        make_folder(root / "sub", classes=classes)
        root = root / "sub"
    code, err = run_app(capsys, "--data-dir", root, "--model", "resnet18")
    assert code == finetune.EXIT_USAGE
    assert "at least two" in err


def test_missing_folder_is_an_error(tmp_path, capsys):
    code, err = run_app(capsys, "--data-dir", tmp_path / "nowhere")
    assert code == finetune.EXIT_USAGE and "is not a folder" in err


def test_unknown_model_is_an_error(capsys):
    code, err = run_app(capsys, "--data-dir", ".", "--model", "resnet5O")
    assert code == finetune.EXIT_USAGE
    assert "Unknown model 'resnet5O'" in err and "resnet50" in err


def test_unknown_weights_is_an_error(capsys):
    code, err = run_app(capsys, "--data-dir", ".", "--model", "resnet18", "--weights", "imagenet")
    assert code == finetune.EXIT_USAGE
    assert "neither a weights tag" in err


def test_unavailable_weights_are_an_error(tmp_path, capsys, monkeypatch):
    def offline(url, expected_hash, **kwargs):
        raise kr.WeightsUnavailableError(f"Could not get {url}.")

    monkeypatch.setattr(kr.weights, "fetch", offline)
    root = make_folder(tmp_path / "photos", per_class=8)
    code, err = run_app(capsys, "--data-dir", root, "--output-dir", tmp_path / "runs")
    assert code == finetune.EXIT_USAGE
    assert "Could not get" in err and "--weights none" in err


def test_unknown_tfds_dataset_is_an_error(capsys):
    code, err = run_app(capsys, "--dataset", "tf_flowerz", "--model", "resnet18")
    assert code == finetune.EXIT_USAGE
    assert "Unknown tensorflow-datasets dataset 'tf_flowerz'" in err and "tf_flowers" in err


def test_tfds_offline_fails_in_seconds(tmp_path, capsys, monkeypatch):
    """A dataset that is not prepared and cannot be downloaded: a fast, actionable error."""
    monkeypatch.setattr(image_data, "online", lambda: OSError("Network is unreachable"))
    began = time.perf_counter()
    code, err = run_app(
        capsys, "--dataset", "flowers", "--tfds-dir", tmp_path, "--model", "resnet18"
    )
    assert time.perf_counter() - began < 10
    assert code == finetune.EXIT_USAGE
    assert "'tf_flowers'" in err and "offline" in err and "--data-dir" in err


def test_offline_probe_is_fast_here():
    """On this offline machine the probe itself answers within its 3 s timeout."""
    began = time.perf_counter()
    problem = image_data.online()
    if problem is None:
        pytest.skip("This machine reaches storage.googleapis.com; the offline path is not live.")
    assert time.perf_counter() - began < image_data.TFDS_PROBE_TIMEOUT_S + 1


def test_changed_options_do_not_resume_a_run(tmp_path):
    checkpoints.check_config(tmp_path, {"model": "resnet18", "epochs": 3})
    checkpoints.check_config(tmp_path, {"model": "resnet18", "epochs": 3})
    with pytest.raises(checkpoints.RunConfigError, match="epochs: 3 -> 4"):
        checkpoints.check_config(tmp_path, {"model": "resnet18", "epochs": 4})


# ------------------------------------------------------------- model and recipe


@pytest.mark.backend
@pytest.mark.parametrize("mode", imagenet.MODES)
def test_preprocess_layer_is_preprocess_input(mode):
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    layer = imagenet.Preprocess(mode)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(images)),
        imagenet.preprocess_input(images.copy(), mode=mode),
        rtol=1e-6,
        atol=1e-4,
    )
    assert imagenet.Preprocess.from_config(layer.get_config()).mode == mode


def test_default_weights_size_and_preprocessing():
    scratch = config_lib.resolve_weights("resnet18", "none")
    assert scratch == (None, False, kr.get_spec("resnet18").preprocessing, 128)
    assert config_lib.resolve_weights("resnet50v2", "imagenet") == ("imagenet", True, "tf", 224)


@pytest.mark.backend
def test_unfreeze_top_stages():
    backbone = kr.create_model(
        "resnet18", weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )
    model = classification.classifier(backbone, 3, "caffe", pretrained=True)
    assert freezing.backbone_of(model) is backbone

    def trainable(prefix):
        return {l.trainable for l in backbone.layers if l.name.startswith(prefix)}

    freezing.set_trainable(model, "0")
    assert not backbone.trainable_weights and model.get_layer("predictions").trainable_weights
    freezing.set_trainable(model, "1")
    assert trainable("conv5_") == {True} and trainable("conv4_") == {False}
    freezing.set_trainable(model, "2")
    assert trainable("conv4_") == {True} and trainable("conv3_") == {False}
    freezing.set_trainable(model, "all")
    assert trainable("conv1_") == {True}


def test_phase_plan():
    pretrained = recipe.plan(True, head_epochs=2, epochs=3, lr=1e-3, finetune_lr=1e-4, unfreeze="2")
    assert [(p.name, p.start, p.end, p.lr, p.unfreeze) for p in pretrained] == [
        ("head", 0, 2, 1e-3, "0"),
        ("finetune", 2, 5, 1e-4, "2"),
    ]
    scratch = recipe.plan(False, head_epochs=2, epochs=3, lr=1e-3, finetune_lr=1e-4, unfreeze="2")
    assert [(p.name, p.start, p.end, p.unfreeze) for p in scratch] == [("scratch", 0, 3, "all")]


@pytest.mark.backend
def test_checkpoint_restores_weights_and_optimizer_step(tmp_path):
    def tiny():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(recipe.make_optimizer("adamw", 1e-2, 20, 2, 0.05), "categorical_crossentropy")
        model.optimizer.build(model.trainable_variables)
        return model

    model = tiny()
    x, y = np.ones((8, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]
    history = []
    model.fit(x, y, batch_size=2, epochs=2, verbose=0,
              callbacks=[checkpoints.Checkpointer(tmp_path, "scratch", history)])  # fmt: skip
    # A kill during the next save leaves a partial temporary file; it must not matter.
    (tmp_path / ".tmp-epoch-0003.weights.h5").write_bytes(b"partial")
    state = checkpoints.latest(tmp_path)
    assert (state["epoch"], state["optimizer_step"], len(state["history"])) == (2, 8, 2)
    assert sorted(p.name for p in tmp_path.glob("epoch-*")) == ["epoch-0002.weights.h5"]
    restored = tiny()
    checkpoints.restore(tmp_path, restored, state)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    moments = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    for ours, theirs in zip(restored.optimizer.variables, moments):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours), theirs)


def test_export_check_tolerates_only_close_calls():
    reference = np.array([[0.7, 0.2, 0.1], [0.5004, 0.4996, 0.0]])
    assert export.compare(reference + 1e-6, reference, 1e-3)["ok"]
    flipped = reference[:, [1, 0, 2]]
    assert not export.compare(flipped, reference, 1e-3)["ok"]
    near_tie = reference.copy()
    near_tie[1, :2] = [0.4996, 0.5004]
    check = export.compare(near_tie, reference, 1e-3)
    assert check["ok"] and check["top1_agreement"] == 0.5


def test_registry_names_resolve():
    """Every registered model gets a preprocessing mode and a size (no family hard-coded)."""
    for name in kr.list_models():
        _, _, mode, size = config_lib.resolve_weights(name, "none")
        assert mode in imagenet.MODES and size >= 32


def test_make_finetune_runs_the_benchmarked_offline_default():
    # The README's first command and the benchmark that chose it must not drift apart.
    makefile = (ROOT / "Makefile").read_text()
    args = re.search(r"^FINETUNE_ARGS \?= --data-dir \S+ (.*)$", makefile, re.M).group(1).split()
    spec = importlib.util.spec_from_file_location("finetune_flowers", ROOT / "benchmarks" / "finetune_flowers.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert tuple(args) == bench.OFFLINE_DEFAULT
    model = args[args.index("--model") + 1]
    checkpoint = re.search(r"^CHECKPOINT := (\S+)$", makefile, re.M).group(1)
    assert checkpoint.startswith(f"{model}-")


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_batch_mixing_blends_images_and_labels(kind):
    """keras-cv's MixUp/CutMix as the training pipeline maps them over one-hot batches."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (8, 16, 16, 3)), tf.float32)
    labels = tf.one_hot(np.arange(8) % 4, 4)
    mixed_images, mixed_labels = (t.numpy() for t in data.augmenter(kind, seed=1)(images, labels))
    assert mixed_images.shape == images.shape and mixed_labels.shape == labels.shape
    np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, rtol=1e-5)
    assert (mixed_labels.max(axis=1) < 1.0).any()  # some labels are now a blend of two classes
    assert not np.allclose(mixed_images, images.numpy())
