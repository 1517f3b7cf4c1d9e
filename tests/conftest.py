"""Fixtures shared by the test files; plain helpers and constants are in helpers.py.

Keras is imported inside the fixtures that need it, so a test that builds no model
starts without loading TensorFlow.
"""

import os

import pytest

from helpers import reference_folder

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The longest test files (2 cores, TensorFlow; a reference build counts with its file, as on
# a fresh clone, whose pytest cache is empty), longest first. They start first, so that
# `make test`'s pytest-xdist workers, which take whole files in collection order, do not end
# with one of them running alone.
LONGEST_FILES = (
    "test_tv_detection.py", "test_distribute.py", "test_mediapipe.py", "test_finetune_runs.py", "test_export.py",
    "test_segmentation.py", "test_detection_app.py", "test_multi_host.py", "test_tv_segmentation.py",
    "test_study.py", "test_cifar.py", "test_keras_compat.py", "test_densenet_dpn.py", "test_detection_head.py",
    "test_benchmark_app.py", "test_keras2_resnext.py",
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its order


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
