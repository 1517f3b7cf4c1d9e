"""The grid of configurations, and measuring each in a fresh subprocess."""

import dataclasses
import itertools
import json
import os
import subprocess
import sys

from keras_resnets.benchmark.peers import is_torch, peer_name


@dataclasses.dataclass(frozen=True)
class Config:
    model: str  # our registry name; peers run the same network (`peers.PEERS`)
    implementation: str = "ours"  # "ours", "keras", "timm", "timm_compile", "torchvision", ...
    backend: str = "tensorflow"  # the Keras backend (ignored by plain-PyTorch peers)
    mode: str = "infer"  # "infer" or "train"
    batch_size: int = 16
    image_size: int = 224
    precision: str = "float32"  # or "bfloat16" (Keras mixed_bfloat16, torch autocast)
    warmup: int = 2
    repeats: int = 5

    def label(self):
        where = "pytorch" if is_torch(self.implementation) else self.backend
        return f"{self.model} {self.implementation} ({where}, {self.precision}, batch {self.batch_size})"


def grid(models, implementations=("ours", "keras"), backends=("tensorflow",), modes=("infer",),
         batch_sizes=(16,), precisions=("float32",), **common):  # fmt: skip
    """Every combination that exists: peers only for the models they implement, and each
    plain-PyTorch peer once (not once per Keras backend)."""
    configs = []
    for model, implementation, backend, mode, batch, precision in itertools.product(
        models, implementations, backends, modes, batch_sizes, precisions
    ):
        if peer_name(model, implementation) is None:
            continue
        if is_torch(implementation) and backend != backends[0]:
            continue
        configs.append(Config(model, implementation, backend, mode, batch, precision=precision, **common))
    return configs


def run(configs, timeout_s=900, echo=print):
    """Measures every configuration in its own process; a failure is a row with an `error`."""
    rows = []
    for index, config in enumerate(configs, start=1):
        echo(f"[{index}/{len(configs)}] {config.label()} {config.mode}")
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
            row = json.loads(lines[-1])
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            row = {**dataclasses.asdict(config), "error": f"{type(exc).__name__}: {exc}"}
        rows.append(row)
        if "error" in row:
            echo(f"    failed: {row['error']}")
        else:
            echo(f"    {row['images_per_s']:.1f} img/s, {row['ms_per_batch']:.0f} ms/batch")
    return rows
