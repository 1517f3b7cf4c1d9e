"""The web page of docs/web (MediaPipe's web Tasks API, the npm package served locally) in
headless Chromium, through keras_resnets.export.browser:

- the real CIFAR-10 ResNet20, exported with metadata: on real lossless test photos at its
  input size, the page's top-1 name is the Keras model's, and every class score is within
  `SCORE_TOLERANCE` of Keras' (the same float32 graph in the same C++ engine, compiled to wasm);
- a small segmenter (random weights) on a real COCO photo: the page's category mask is the
  Keras argmax, with the class names;
- a file MediaPipe cannot read comes back as the page's error, in MediaPipe's words.

Skipped when Chromium or docs/web/node_modules is missing (`make web` installs both), except
in CI (CI=true), which installs them, so there it fails instead.
"""

import os

import numpy as np
import pytest
from helpers import place_in_keras_cache, randomize_weights, shared_data

from keras_resnets import export
from keras_resnets.export import browser

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# Measured on all 20 lossless photos (every score of the 10): at most 1.2e-7 from Keras, one
# float32 step at 1.0 (Python's MediaPipe, the same engine compiled natively: 7e-7 from Keras,
# 6e-7 from the page). 1e-5 leaves room for another CPU's wasm SIMD rounding and still fails
# on any real difference in the input (a resize, the normalization: 1e-3 and more).
SCORE_TOLERANCE = 1e-5
PHOTOS = 3  # the least confident of the 20: scores away from 1.0 and 0.0 say more


@pytest.fixture(scope="module")
def page_ready():
    try:
        browser.check_page()
        browser.find_chromium()
    except browser.BrowserUnavailableError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI installs the page's needs (make web): {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def resnet20(page_ready, tmp_path_factory):
    """The real ResNet20 exported float32 with metadata, and the photos Keras is least sure of."""
    import keras_resnets as kr

    place_in_keras_cache(shared_data("cifar10-pretrained") / "resnet20-12fca82f.th")
    data = np.load(shared_data("cifar10-test") / "cifar10_test_first20_lossless_foolbox.npz")
    model = kr.create_model("resnet20", weights="cifar10", include_preprocessing=True)
    out = tmp_path_factory.mktemp("resnet20_web")
    result = export.export(model, out, formats=("tflite",), eval_data=(data["x"].astype("float32"), data["y"]),
                           class_names=CIFAR10, timing_runs=0)  # fmt: skip
    assert result["passed"]
    scores = model.predict(data["x"].astype("float32"), verbose=0)
    keep = np.argsort(scores.max(-1))[:PHOTOS]
    return out / "model.tflite", data["x"][keep], scores[keep]


def test_the_page_classifies_real_photos_as_keras_does(resnet20, tmp_path):
    model, photos, expected = resnet20
    for i, (photo, reference) in enumerate(zip(photos, expected)):
        shot = tmp_path / "page.png" if i == 0 else None
        result = browser.run_page(model, photo, "classification", screenshot=shot)  # a 32x32 PNG: no resizing
        assert result["image"] == {"name": "photo.png", "width": 32, "height": 32}
        names = [c["name"] for c in result["categories"]]
        assert sorted(names) == sorted(CIFAR10) and names[0] == CIFAR10[reference.argmax()]
        scores = np.zeros(10)
        for category in result["categories"]:
            scores[category["index"]] = category["score"]
        assert CIFAR10.index(names[0]) == result["categories"][0]["index"]
        np.testing.assert_allclose(scores, reference, atol=SCORE_TOLERANCE, rtol=0)
        gap = np.abs(scores - reference).max()
        print(f"\nphoto {i}: {names[0]} {reference.max():.4f}, max |page - Keras| {gap:.2g}")
    from PIL import Image

    assert Image.open(tmp_path / "page.png").size == (900, 700)  # the drawn page, at run_page's window


def test_the_page_segments_a_real_photo_as_keras_does(page_ready, tmp_path):
    import keras_resnets as kr
    from PIL import Image

    from keras_resnets.heads import segmentation as heads

    files = sorted((shared_data("segmentation-mini") / "images").glob("*.jpg"))[:2]
    photos = np.stack([np.asarray(Image.open(f).convert("RGB").resize((64, 64))) for f in files])
    network = kr.create_model("resnet18", weights=None, include_top=False, input_shape=(64, 64, 3), output_stride=16)
    backbone = kr.features(network, levels=heads.head_levels("fpn", network.pyramid_level_inputs))
    model = randomize_weights(heads.segmenter(backbone, 5, "torch", False, "fpn"))
    names = ["sky", "tree", "road", "person", "other"]
    result = export.export(model, tmp_path, formats=("tflite",), eval_data=photos.astype("float32"), class_names=names,
                           timing_runs=0)  # fmt: skip
    assert result["passed"]
    expected = model.predict(photos[:1].astype("float32"), verbose=0)[0].argmax(-1)
    page = browser.run_page(tmp_path / "model.tflite", photos[0], "segmentation")  # at the input size: no resizing
    mask = np.array(page["mask"]).reshape(page["height"], page["width"])
    assert page["labels"] == names and mask.shape == (64, 64)
    assert sum(page["counts"].values()) == 64 * 64 and set(page["counts"]) <= set(names)
    # Measured: every pixel (as Python's MediaPipe, the export's check); a near tie may flip one.
    assert (mask == expected).mean() >= 0.99
    print(f"\nsegmentation: the page's mask is the Keras argmax on {(mask == expected).mean():.2%} of pixels")


def test_a_file_mediapipe_cannot_read_is_the_pages_error(page_ready, tmp_path):
    (tmp_path / "broken.tflite").write_bytes(b"not a model")
    photo = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(browser.PageError, match="the page failed: .*not a valid Flatbuffer"):
        browser.run_page(tmp_path / "broken.tflite", photo)
    with pytest.raises(browser.BrowserUnavailableError, match=r"lacks .*wasm: run `make web`"):
        browser.check_page(tmp_path)  # a page folder without the npm package
    with pytest.raises(ValueError, match="task must be one of"):
        browser.run_page(tmp_path / "broken.tflite", photo, task="pose")
