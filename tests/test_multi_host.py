"""Several hosts, emulated by JAX processes on 127.0.0.1: apps/finetune.py run by two processes
(one CPU device each) trains ResNet20 with BatchNorm on flowers-mini (32 px, global batch 8, 2
epochs of 3 SGD steps) to the weights of one process data parallel over 2 emulated devices,
and a worker killed after a checkpoint is recovered by rerunning both, which resume from that
checkpoint and finish as that one process resuming it does.

The weights compared are the final checkpoints (model weights, BatchNorm statistics and
optimizer state). The reference is one process over 2 devices, the same sharded program: one
process on one device sums the batch in another order, and ResNet20 trained from scratch
turns that rounding (2e-5 in the first epoch's loss) into 1e-2 in weights within 6 steps
(test_distribute.py checks one device against two on a model small enough not to). A resumed
run reshuffles its stream from `seed + epoch`, so it is compared with a resumed run, not an
uninterrupted one. Every process shares one JAX compilation cache, so that only the first run
of each kind compiles.
"""

import shutil
import signal
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest

from helpers import ROOT, app_env, shared_data, wait_for

EPOCHS, STEPS = 2, 3
TIMEOUT_S = 240  # per process: a wedged collective fails the test instead of hanging CI


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("jax-cache")


def command(output_dir, run_name, *processes):
    return [
        sys.executable, str(ROOT / "apps" / "finetune.py"), "--data-dir", str(shared_data("flowers-mini")),
        "--model", "resnet20", "--weights", "none", "--optimizer", "sgd", "--image-size", "32", "--batch-size", "8",
        "--max-images", "40", "--epochs", str(EPOCHS), "--steps-per-epoch", str(STEPS),
        "--no-mixed-precision", "--no-export", "--no-tensorboard", "--quiet",
        "--output-dir", str(output_dir), "--run-name", run_name, *processes,
    ]  # fmt: skip


def env(cache):
    return {**app_env("jax"), "JAX_COMPILATION_CACHE_DIR": str(cache)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(output_dir, run_name, cache, *flags, **env_vars):
    return subprocess.Popen(
        command(output_dir, run_name, *flags), env={**env(cache), **env_vars}, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def start_one(output_dir, run_name, cache):
    """One process, data parallel over 2 emulated devices."""
    devices = "--xla_force_host_platform_device_count=2"
    return [start(output_dir, run_name, cache, "--distribute", "data", XLA_FLAGS=devices)]


def start_two(output_dir, run_name, cache):
    """Process 0 and 1 of a two-process run."""
    flags = ["--coordinator-address", f"127.0.0.1:{free_port()}", "--num-processes", "2"]
    return [start(output_dir, run_name, cache, *flags, "--process-id", str(i)) for i in range(2)]


def stop(processes):
    """Each process's (return code, stderr), once it has ended; kills them all on a timeout."""
    try:
        outputs = [p.communicate(timeout=TIMEOUT_S) for p in processes]
    finally:
        for p in processes:
            p.kill()
            p.wait()
    return [(p.returncode, err) for p, (_, err) in zip(processes, outputs)]


def finish(processes):
    """Each process's stderr, once all have succeeded."""
    results = stop(processes)
    for code, err in results:
        assert code == 0, err[-3000:]
    return [err for _, err in results]


def final_weights(run_dir):
    """Every array of the last checkpoint, by its path in the file."""
    arrays = {}
    with h5py.File(run_dir / f"epoch-{EPOCHS:04d}.weights.h5") as f:
        f.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


def assert_same_weights(a, b):
    assert a.keys() == b.keys() and len(a) > 100
    gap = max(float(np.max(np.abs(np.asarray(a[k], "float64") - b[k]))) for k in a)
    assert gap < 1e-5, gap


def test_two_processes_train_as_one_and_a_killed_worker_is_recovered_by_rerunning_both(tmp_path, cache):
    """One test, since every launch costs 25-35 s of start-up and compilation on 2 cores: the
    interrupted run's rerun is the two-process run compared with one process."""
    run_dir = tmp_path / "two" / "run"
    processes = start_two(tmp_path / "two", "run", cache)
    try:
        wait_for(lambda: (run_dir / "checkpoint.json").exists(), TIMEOUT_S, processes[0])
        processes[1].send_signal(signal.SIGKILL)  # the worker dies in epoch 2
    finally:  # the chief, its peer gone, waits in a collective: a job is restarted whole
        for p in processes:
            p.kill()
        stop(processes)
    assert not (run_dir / f"epoch-{EPOCHS:04d}.weights.h5").exists(), "the run finished before it was killed"
    # What one process makes of the same checkpoint: a copy of the folder, resumed alone.
    shutil.copytree(run_dir, tmp_path / "one" / "run")
    _, *errs = finish(start_one(tmp_path / "one", "run", cache) + start_two(tmp_path / "two", "run", cache))
    resumed = f"Resuming {run_dir} after epoch 1 (phase scratch, optimizer step {STEPS})."
    assert all(resumed in err for err in errs)
    assert all("Data parallel over 2 devices (jax), 4 images per replica." in err for err in errs)
    assert "Process 1 of 2" in errs[1]
    assert_same_weights(final_weights(tmp_path / "one" / "run"), final_weights(run_dir))
    # Only the chief writes: one set of run files, from process 0.
    assert (run_dir / "metrics.json").exists()
    assert "Metrics, curves and plots" in errs[0] and "Metrics, curves and plots" not in errs[1]
