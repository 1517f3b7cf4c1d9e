"""The weights table and its one download/cache/verify path, all offline.

Every file here is created by the test; URLs point at a closed local port or at
file:// paths, so no test needs the internet.
"""

import dataclasses
import hashlib
import time

import numpy as np
import pytest
from keras.src.applications import resnet as keras_resnet

import keras_resnets as kr
from keras_resnets import weights as weights_lib
from helpers import random_images, randomize_weights, save_legacy_h5

CLOSED_PORT_URL = "http://127.0.0.1:9/resnet18_test_weights.h5"  # discard port: refused at once
SHAPE = (32, 32, 3)


@pytest.fixture
def source(tmp_path):
    """A ResNet18 with seeded weights, saved as a legacy .h5 like the official files."""
    model = randomize_weights(kr.ResNet18(weights=None, input_shape=SHAPE, classes=10), seed=7)
    path = save_legacy_h5(model, tmp_path / "source.h5")
    return model, path


def register_test_row(url, file_hash):
    entry = weights_lib.WeightsEntry(
        model="resnet18", tag="imagenet", url=url, file_hash=file_hash, classes=10, resolution=32
    )
    weights_lib.register(entry)
    return entry


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def test_table_matches_keras_applications_hashes():
    for name, (top, notop) in keras_resnet.WEIGHTS_HASHES.items():
        entry = weights_lib.find(name, "imagenet")
        assert entry is not None, name
        assert entry.url == f"{keras_resnet.BASE_WEIGHTS_PATH}{name}_weights_tf_dim_ordering_tf_kernels.h5"
        assert entry.notop_url == entry.url.replace("kernels.h5", "kernels_notop.h5")
        assert (entry.file_hash, entry.notop_hash) == (top, notop)
    assert {e.model for e in weights_lib.TABLE if e.tag == "imagenet"} >= {
        "resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2",
        "resnext50", "resnext101",
    }


def test_cached_file_loads_without_network(keras_home, source):
    model, path = source
    register_test_row(CLOSED_PORT_URL, md5(path))
    cached = keras_home / "models" / "resnet18_test_weights.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(open(path, "rb").read())

    loaded = kr.create_model("resnet18", weights="imagenet", classes=10, input_shape=SHAPE)
    images = random_images((2, *SHAPE))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_offline_error_is_fast_and_says_what_to_do(keras_home, source):
    _, path = source
    register_test_row(CLOSED_PORT_URL, md5(path))
    start = time.monotonic()
    with pytest.raises(kr.WeightsUnavailableError) as info:
        kr.create_model("resnet18", weights="imagenet", classes=10, input_shape=SHAPE)
    assert time.monotonic() - start < 30
    message = str(info.value)
    assert CLOSED_PORT_URL in message
    assert "resnet18_test_weights.h5" in message
    assert str(keras_home / "models") in message
    assert "weights=<path" in message


def test_corrupt_cached_file_is_never_loaded(keras_home, source):
    _, path = source
    register_test_row(CLOSED_PORT_URL, md5(path))
    cached = keras_home / "models" / "resnet18_test_weights.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(open(path, "rb").read()[:100_000])  # truncated
    with pytest.raises(kr.WeightsUnavailableError, match="fails its md5 check"):
        kr.create_model("resnet18", weights="imagenet", classes=10, input_shape=SHAPE)


def test_download_is_verified_then_cached(keras_home, source, tmp_path):
    model, path = source
    entry = register_test_row(f"file://{path}", md5(path))
    loaded = kr.create_model("resnet18", weights="imagenet", classes=10, input_shape=SHAPE)
    images = random_images((2, *SHAPE))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    assert (keras_home / "models" / "source.h5").exists()

    # A download whose hash does not match is refused, not loaded.
    weights_lib.register(dataclasses.replace(entry, url=f"file://{path}", file_hash="0" * 32))
    (keras_home / "models" / "source.h5").unlink()
    with pytest.raises(kr.WeightsUnavailableError, match="download from"):
        kr.create_model("resnet18", weights="imagenet", classes=10, input_shape=SHAPE)


def test_sha256_hashes_are_checked_too(keras_home, tmp_path):
    data = tmp_path / "blob.bin"
    data.write_bytes(b"residual" * 1000)
    good = hashlib.sha256(data.read_bytes()).hexdigest()
    assert weights_lib.fetch(f"file://{data}", good).endswith("blob.bin")
    with pytest.raises(kr.WeightsUnavailableError):
        weights_lib.fetch(f"file://{data}", "f" * 64, fname="other.bin")


def test_weights_path_loads_keras3_files(tmp_path):
    model = randomize_weights(kr.ResNet18V2(weights=None, input_shape=SHAPE, classes=4), seed=2)
    path = str(tmp_path / "mine.weights.h5")
    model.save_weights(path)
    loaded = kr.ResNet18V2(weights=path, input_shape=SHAPE, classes=4)
    images = random_images((2, *SHAPE))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
