"""The grid of configurations, and measuring each in a fresh subprocess."""

import dataclasses
import itertools
import json
import os
import statistics
import subprocess
import sys

from keras_resnets.benchmark.peers import is_torch, peer_name, where


@dataclasses.dataclass(frozen=True)
class Config:
    model: str  # our registry name; peers run the same network (`peers.PEERS`)
    implementation: str = "ours"  # "ours", "ours_folded", "keras", "timm", "timm_compile", "torchvision", ...
    backend: str = "tensorflow"  # the Keras backend (ignored by plain-PyTorch peers)
    mode: str = "infer"  # "infer" or "train"
    batch_size: int = 16
    image_size: int = 224
    precision: str = "float32"  # or "bfloat16" (Keras mixed_bfloat16, torch autocast)
    # Keras' compile(jit_compile=True): XLA on TensorFlow, torch.compile under the PyTorch
    # backend. False keeps Keras' "auto" (XLA on JAX always, on TensorFlow only with a GPU).
    jit_compile: bool = False
    warmup: int = 2
    repeats: int = 5

    def label(self):
        place = where(dataclasses.asdict(self))
        return f"{self.model} {self.implementation} ({place}, {self.precision}, batch {self.batch_size})"


def grid(models, implementations=("ours", "keras"), backends=("tensorflow",), modes=("infer",),
         batch_sizes=(16,), precisions=("float32",), jit_compiles=(False,), **common):  # fmt: skip
    """Every combination that exists: peers only for the models they implement, and each
    plain-PyTorch peer once (not once per Keras backend, and compiled as its `_compile`
    implementation rather than through `jit_compiles`). Task models (detectors, segmenters)
    and "ours_folded" are measured for inference only: a training step would need each task
    model's own loss, and folded BatchNorm no longer trains."""
    if "train" in modes:
        _refuse_training_task_models(models)
    configs = []
    for model, implementation, backend, mode, batch, precision, jit in itertools.product(
        models, implementations, backends, modes, batch_sizes, precisions, jit_compiles
    ):
        if peer_name(model, implementation) is None:
            continue
        if is_torch(implementation) and (backend != backends[0] or jit != jit_compiles[0]):
            continue
        if implementation == "ours_folded" and mode != "infer":  # folded BatchNorm does not train
            continue
        configs.append(
            Config(model, implementation, backend, mode, batch, precision=precision, jit_compile=jit, **common)
        )
    return configs


def _refuse_training_task_models(models):
    import keras_resnets as kr

    tasks = {name: getattr(kr.get_spec(name), "task", "classification") for name in models}
    inference_only = [f"{name} ({task})" for name, task in tasks.items() if task != "classification"]
    if inference_only:
        raise ValueError(
            f"{', '.join(inference_only)}: task models are measured for inference only; use "
            "--modes infer for them (and measure training with the classifiers)."
        )


def run(configs, timeout_s=900, echo=print, rounds=1):
    """Measures every configuration in its own process, `rounds` times over the whole grid
    (so that a slow spell of the machine hits ours and the peer alike, not one of them); a
    row holds the median of its rounds. A failure is a row with an `error`."""
    measured = [[] for _ in configs]
    for round_ in range(rounds):
        for index, config in enumerate(configs):
            prefix = f"[{index + 1}/{len(configs)}]" + (f" round {round_ + 1}/{rounds}" if rounds > 1 else "")
            echo(f"{prefix} {config.label()} {config.mode}")
            row = _measure(config, timeout_s)
            measured[index].append(row)
            if "error" in row:
                echo(f"    failed: {row['error']}")
            else:
                echo(f"    {row['images_per_s']:.1f} img/s, {row['ms_per_batch']:.0f} ms/batch")
    return [_median_row(rows) for rows in measured]


def _median_row(rows):
    good = [r for r in rows if "error" not in r]
    if not good:
        return rows[-1]
    median = statistics.median(r["images_per_s"] for r in good)
    row = min(good, key=lambda r: abs(r["images_per_s"] - median))
    return {**row, "images_per_s": median, "ms_per_batch": 1000 * row["batch_size"] / median,
            "round_images_per_s": [r["images_per_s"] for r in good]}  # fmt: skip


def _measure(config, timeout_s):
    # Plain-PyTorch peers get Keras' torch backend, so that importing keras_resnets in the
    # worker never imports TensorFlow (torchvision imported after it crashes the process).
    backend = "torch" if is_torch(config.implementation) else config.backend
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "keras_resnets.benchmark.worker", json.dumps(dataclasses.asdict(config))]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output")
        return json.loads(lines[-1])
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return {**dataclasses.asdict(config), "error": f"{type(exc).__name__}: {exc}"}
