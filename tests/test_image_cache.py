"""Decoded images kept in memory or streamed from their files (`tasks.image_cache`).

Streaming must not change what a run trains on: for every task, the same seed gives the
same batches (augmentation included) whether the decoded images are cached or decoded
again every epoch. The choice follows the memory budget, and the log says why.
"""

import logging

import numpy as np
import pytest

from keras_resnets.tasks import classification_data, detection_data, image_cache, segmentation_data
from keras_resnets.tasks.options import ClassificationOptions
from keras_resnets.training.errors import ConfigError
from tests.helpers import shared_data

SIZE, BATCH, BATCHES = 32, 4, 3


def batches(ds):
    return [[np.asarray(t) for t in batch] for batch in ds.take(BATCHES)]


def assert_same(cached, streamed):
    for a, b in zip(batches(cached), batches(streamed), strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_classification_streams_the_batches_it_would_cache():
    split = classification_data.load_folder(shared_data("flowers-mini")).splits["train"]
    classes = 5
    for training in (True, False):
        assert_same(*(
            classification_data.pipeline(split, classes, SIZE, BATCH, training=training, seed=7, cache=cache)
            for cache in (True, False)
        ))  # fmt: skip


def test_detection_streams_the_batches_it_would_cache():
    split = detection_data.load_folder(shared_data("detection-mini"), max_images=12).splits["train"]
    assert_same(*(
        detection_data.pipeline(split, SIZE, BATCH, 10, training=True, seed=7, cache=cache) for cache in (True, False)
    ))  # fmt: skip


def test_segmentation_streams_the_batches_it_would_cache():
    split = segmentation_data.load_folder(shared_data("segmentation-mini")).splits["train"]
    assert_same(*(
        segmentation_data.pipeline(split, SIZE, BATCH, training=True, seed=7, cache=cache) for cache in (True, False)
    ))  # fmt: skip


def test_a_folder_keeps_file_names_until_an_image_is_needed():
    """The records a streamed epoch shuffles are names, not pixels: memory stays flat."""
    split = classification_data.load_folder(shared_data("flowers-mini")).splits["train"]
    path, label = next(iter(split.dataset))
    assert path.dtype.name == "string" and path.shape == () and label.shape == ()


def test_auto_caches_what_fits_half_the_available_memory(caplog):
    need = image_cache.estimated_bytes(1000, 224)  # 258 px by 344 px, RGB
    assert need == 1000 * 258 * 344 * 3
    caplog.set_level(logging.INFO, logger=image_cache.__name__)
    assert image_cache.decide("auto", 1000, 224, available=2 * need)
    assert not image_cache.decide("auto", 1000, 224, available=2 * need - 1)
    assert "streamed from their files every epoch" in caplog.text and "0.27 GB" in caplog.text
    # Forced either way, whatever the memory.
    assert image_cache.decide("memory", 1000, 224, available=0)
    assert not image_cache.decide("stream", 1000, 224, available=10 * need)
    # A segmentation mask adds a byte per pixel.
    assert image_cache.estimated_bytes(1000, 224, 4) == 4 * need // 3


def test_available_memory_is_read_from_this_machine():
    available = image_cache.available_memory()
    assert available is None or 0 < available < 1 << 50


def test_an_unknown_cache_mode_is_refused_up_front():
    with pytest.raises(ConfigError, match="cache"):
        ClassificationOptions(data_dir="x", cache="disk")
