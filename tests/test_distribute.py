"""Scaling out: data parallel on 2 emulated devices (JAX) and 2 logical CPUs (TensorFlow)
trains to the weights of one device (a classifier for a few steps, a RetinaNet and a
segmenter for one), gradient accumulation to those of the larger batch,
and the options that set them are checked before anything trains."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_resnets.training import distribute, recipe
from keras_resnets.training.errors import ConfigError
from keras_resnets.training.options import RunConfig

from helpers import TESTS, app_env, shared_data


def data_parallel_report(backend):
    """tests/data_parallel_run.py's JSON, in a fresh process: the devices are split before
    the backend starts."""
    result = subprocess.run(
        [sys.executable, str(TESTS / "data_parallel_run.py")], capture_output=True, text=True, env=app_env(backend),
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_common(report):
    assert report["devices"] == 2 and report["auto"] == "none"  # CPU devices are no accelerators
    assert "does not split over 2 devices; use a multiple of 2" in report["odd_batch"]
    for variant in report.values():
        if isinstance(variant, dict):
            assert variant["replicas"] == [1, 2] and variant["moved"] > 1e-2


def test_jax_data_parallel_on_two_devices_trains_to_the_weights_of_one():
    report = data_parallel_report("jax")
    check_common(report)
    assert report["plain"]["max_abs_diff"] < 1e-5
    assert report["batch_norm"]["max_abs_diff"] < 1e-5  # SPMD: statistics over the global batch
    assert report["detection"]["max_abs_diff"] < 1e-5 and report["segmentation"]["max_abs_diff"] < 1e-5


def test_tensorflow_mirrored_strategy_trains_to_the_weights_of_one_device():
    report = data_parallel_report("tensorflow")
    check_common(report)
    assert report["plain"]["max_abs_diff"] < 1e-5
    assert report["batch_norm"]["max_abs_diff"] > 1e-3  # per-replica statistics
    assert report["sync_bn"]["max_abs_diff"] < 1e-5
    # Losses over the global count (`core.replicas`), void pixels spread unevenly over the
    # replicas; synchronised BatchNorm.
    assert report["detection"]["max_abs_diff"] < 1e-5 and report["segmentation"]["max_abs_diff"] < 1e-5



def test_per_epoch_reports_under_mirrored_strategy_score_each_image_once(tmp_path):
    """Under MirroredStrategy a model's `predict_on_batch` returns every replica's outputs
    for the whole batch, so the detect and segment apps' per-epoch reports evaluate a copy
    on one device (`training.loop.evaluation_copy`), kept at the trained weights."""
    folders = [shared_data("detection-mini"), shared_data("segmentation-mini")]
    result = subprocess.run(
        [sys.executable, str(TESTS / "distributed_reports_run.py"), *map(str, folders), str(tmp_path)],
        capture_output=True, text=True, env=app_env("tensorflow"), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for task, figures in (("detection", ("map", "map50")), ("segmentation", ("mean_iou", "pixel_accuracy"))):
        run = report[task]
        assert run["code"] == 0 and run["replicas"] == 2
        assert run["pictures"] == ["predictions_epoch001.png"]
        # The epoch's report scores the validation images as the final evaluation does, at the
        # same weights, each image once (before, the segmenter's got twice the pixels and failed).
        for figure in figures:
            epoch, final = run["history"][-1][f"val_{figure}"], run["val"][figure]
            assert epoch == final if final is None else epoch == pytest.approx(final, abs=1e-9), figure


def test_data_parallel_is_refused_under_torch_and_none_is_one_replica(monkeypatch):
    with distribute.scope(RunConfig(distribute="none")) as replicas:
        assert replicas == 1
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ConfigError, match="needs the JAX or TensorFlow backend"):
        with distribute.scope(RunConfig(distribute="data")):
            pass
    assert distribute.is_chief()  # one process


@pytest.mark.parametrize(
    "task, cluster, chief",
    [({"type": "worker", "index": 0}, {"worker": ["a", "b"]}, True),
     ({"type": "worker", "index": 1}, {"worker": ["a", "b"]}, False),
     ({"type": "worker", "index": 0}, {"chief": ["a"], "worker": ["b"]}, False),
     ({"type": "chief", "index": 0}, {"chief": ["a"], "worker": ["b"]}, True)],
)  # fmt: skip
def test_only_the_chief_of_a_tf_config_cluster_writes(monkeypatch, task, cluster, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distribute.is_chief() is chief


def test_scale_out_options_are_checked():
    with pytest.raises(ConfigError, match="distribute is one of"):
        RunConfig(distribute="model")
    with pytest.raises(ConfigError, match="drop_path is in"):
        RunConfig(drop_path=1.0)
    with pytest.raises(ConfigError, match="steps_per_epoch .* multiple"):
        RunConfig(steps_per_epoch=3, accumulate_steps=2)
    assert RunConfig(drop_path=0.1).backbone_options == {"drop_path_rate": 0.1}
    assert RunConfig().backbone_options == {}


def test_accumulating_n_batches_equals_one_batch_n_times_larger():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, 6)).astype("float32")
    targets = rng.normal(size=(16, 2)).astype("float32")

    def trained(batch, accumulate):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
        # A schedule long enough to be flat: the accumulated update reads it at its last batch.
        model.compile(optimizer=recipe.make_optimizer("adamw", 0.05, 100_000, 0, 1e-2, accumulate), loss="mse")
        model.fit(images, targets, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        return model

    large, small = trained(8, 1), trained(4, 2)
    assert int(small.optimizer.iterations) == int(large.optimizer.iterations) == 2  # updates, not batches
    for a, b in zip(large.get_weights(), small.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(large.get_weights()[0], trained(4, 1).get_weights()[0], atol=1e-4)


def test_several_processes_are_read_from_options_or_keras_environment_and_checked(monkeypatch):
    for name in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID"):
        monkeypatch.delenv(f"KERAS_DISTRIBUTION_{name}", raising=False)
    assert distribute.processes(RunConfig()) == (None, 1, 0)
    distribute.initialize(RunConfig())  # one process: nothing to join
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:7777")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    assert distribute.processes(RunConfig()) == ("10.0.0.1:7777", 2, 1)
    flags = RunConfig(coordinator_address="127.0.0.1:1", num_processes=4, process_id=0)
    assert distribute.processes(flags) == ("127.0.0.1:1", 4, 0)  # the options win
    with pytest.raises(ConfigError, match=r"process_id is in \[0, 2\)"):
        distribute.processes(RunConfig(process_id=2))
    with pytest.raises(ConfigError, match="num_processes must be at least 1"):
        RunConfig(num_processes=0)
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    with pytest.raises(ConfigError, match="2 processes need KERAS_BACKEND=jax.*keras-team/keras#20585"):
        distribute.initialize(RunConfig())
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ConfigError, match="only with distribute 'data' or 'auto'"):
        distribute.initialize(RunConfig(distribute="none"))


def test_every_iterator_of_a_training_stream_yields_the_same_passes():
    """Keras iterates a dataset once to build the model and starts again; how often depends on
    the distribution, so the stream must not move on with each new iterator."""
    import tensorflow as tf

    from keras_resnets.tasks.images import training_stream

    stream = training_stream(tf.data.Dataset.range(10), 10, seed=3).map(lambda x, _: x)
    first, second = ([int(x) for x in stream.take(20)] for _ in range(2))
    assert first == second
    passes = first[:10], first[10:]
    assert all(sorted(p) == list(range(10)) for p in passes) and passes[0] != passes[1]
