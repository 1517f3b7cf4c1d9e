"""The same weights give the same outputs on TensorFlow, JAX and PyTorch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

MODELS = ["resnet18", "resnet50", "resnet50v2"]
SCRIPT = """
import json, sys
import numpy as np
from helpers import logits, randomize_weights, random_images  # first: it orders torch/TF imports
import keras_resnets as kr
out = {}
for name in json.loads(sys.argv[1]):
    model = randomize_weights(kr.create_model(name, weights=None, input_shape=(64, 64, 3), classes=10), seed=5)
    out[name] = logits(model, random_images((2, 64, 64, 3))).tolist()
json.dump(out, open(sys.argv[2], "w"))
"""


def outputs_on(backend, tmp_path):
    path = tmp_path / f"{backend}.json"
    # tests/ first on the path (for helpers), then the caller's (which may name the checkout to test).
    python_path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=python_path)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(MODELS), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        if "No module named" in result.stderr and backend in result.stderr:
            pytest.skip(f"the {backend} backend is not installed")
        raise AssertionError(f"{backend} run failed:\n{result.stderr[-3000:]}")
    return {k: np.array(v) for k, v in json.load(open(path)).items()}


# In `make test`: each backend's leg compares ResNet18 and ResNet50-B, among others, to the
# torchvision/timm references (test_torch_convert.py, marked backend).
@pytest.mark.slow
def test_same_weights_same_outputs_on_every_backend(tmp_path):
    results = {b: outputs_on(b, tmp_path) for b in ("tensorflow", "jax", "torch")}
    for name in MODELS:
        reference = results["tensorflow"][name]
        assert reference.shape == (2, 10)
        for backend in ("jax", "torch"):
            diff = np.abs(results[backend][name] - reference).max()
            assert diff <= 1e-4, f"{name}: {backend} differs from tensorflow by {diff}"
