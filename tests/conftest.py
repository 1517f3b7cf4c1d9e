import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Real data shared by the workplace, beside the repository (never copied into it).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(folder):
    """Path of a shared data folder, or skip the test with the reason."""
    path = SHARED_DATA / folder
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the workplace's shared data ({folder}).")
    return path


def randomize_weights(model, seed=0):
    """Seeded random weights for every variable, BatchNorm statistics included.

    Drawn with NumPy in a fixed variable order, so the same seed gives the same
    weights on every backend.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "gamma" in variable.path:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        variable.assign(value.astype("float32"))
    return model


def random_images(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")
