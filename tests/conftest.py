"""Fixtures shared by the test files; plain helpers and constants are in helpers.py.

Keras is imported inside the fixtures that need it, so a test that builds no model
starts without loading TensorFlow.
"""

import os

import pytest

from helpers import reference_folder

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def reference(request, tmp_path_factory):
    """Folder of tests/torch_reference.py's files: the torchvision/timm ResNet checkpoints,
    the fixed batch and each reference's logits."""
    return reference_folder(request, tmp_path_factory, "torch_reference.py")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty KERAS_HOME, and a copy of the weights table that a test may register rows in."""
    from keras_resnets import weights as weights_lib

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(weights_lib, "TABLE", list(weights_lib.TABLE))
    return tmp_path / "keras_home"
