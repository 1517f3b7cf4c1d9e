"""Decoded images kept in memory or streamed from their files (`tasks.image_cache`).

Streaming must not change what a run trains on: for every task, the same seed gives the
same batches (augmentation included) whether the decoded images are cached or decoded
again every epoch. The choice follows the memory budget, and the log says why. What a
streamed epoch shuffles is a split's records: file names for a folder, the files' encoded
bytes for a tensorflow-datasets set (real tfds sets, prepared here offline: `tfds_prepared`).
"""

import logging

import numpy as np
import pytest

from keras_resnets.tasks import classification_data, detection_data, image_cache, segmentation_data
from keras_resnets.tasks.options import ClassificationOptions
from keras_resnets.training.errors import ConfigError
from tests.helpers import shared_data
from tests.tfds_prepared import pets_download, prepare, trimap, voc_download

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


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """A tfds data folder holding voc/2007 (6 photos) and oxford_iiit_pet (10 photos: the val split is 10% of its train split), as
    tfds' own builders prepare them; the photos' files by stem, for comparison."""
    pytest.importorskip("tensorflow_datasets")
    detection_mini, segmentation_mini = shared_data("detection-mini"), shared_data("segmentation-mini")
    root = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as monkeypatch:
        voc_download(detection_mini, root / "voc", 6)
        prepare("voc/2007", root / "voc", root / "data", monkeypatch)
        pets_download(segmentation_mini, root / "pets", 10)
        prepare("oxford_iiit_pet", root / "pets", root / "data", monkeypatch)
    return root


def encoded_files(folder):
    return {p.read_bytes(): p.stem for p in folder.rglob("*.jpg")}


def test_a_tfds_detection_set_keeps_each_file_encoded_and_streams_what_it_would_cache(tfds_dir):
    split = detection_data.load_tfds("voc/2007", tfds_dir / "data").splits["train"]
    files = encoded_files(tfds_dir / "voc")
    records = list(split.dataset.as_numpy_iterator())
    assert len(records) == split.count == 6
    assert {r[0] for r in records} == set(files)  # the files' own bytes, not pixels
    for encoded, boxes, classes, number in records:
        image, _, _, _, size = (np.asarray(t) for t in split.decode(encoded, boxes, classes, number))
        assert tuple(size) == image.shape[:2] and image.shape[2] == 3 and len(boxes) == len(classes) > 0
    annotated = {image["id"]: image for image in split.ground_truth["images"]}
    assert sorted(annotated) == [r[3] for r in sorted(records, key=lambda r: r[3])]
    assert len(split.ground_truth["annotations"]) == sum(len(r[1]) for r in records)
    assert_same(*(
        detection_data.pipeline(split, SIZE, BATCH, 10, training=True, seed=7, cache=cache) for cache in (True, False)
    ))  # fmt: skip


def test_a_tfds_segmentation_set_keeps_each_file_encoded_and_streams_what_it_would_cache(tfds_dir):
    from PIL import Image

    source = segmentation_data.load_tfds("oxford_iiit_pet", tfds_dir / "data")
    assert source.class_names == ["pet", "background", "border"]
    split = source.splits["train"]
    files = encoded_files(tfds_dir / "pets")
    records = list(split.dataset.as_numpy_iterator())
    assert len(records) == split.count == 9 and {image for image, _ in records} <= set(files)
    for encoded_image, encoded_mask in records:
        _, mask = split.decode(encoded_image, encoded_mask)
        source_mask = np.asarray(Image.open(shared_data("segmentation-mini") / "masks" / f"{files[encoded_image]}.png"))
        np.testing.assert_array_equal(np.asarray(mask)[..., 0], trimap(source_mask) - 1)
    for training in (True, False):
        assert_same(*(
            segmentation_data.pipeline(split, SIZE, BATCH, training=training, seed=7, cache=cache)
            for cache in (True, False)
        ))  # fmt: skip
