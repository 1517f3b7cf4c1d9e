"""apps/predict.py for every task, and the letterbox that detection and segmentation see."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from PIL import Image

from keras_resnets.tasks import CATEGORIES_FILE, drawing, letterbox, prediction
from helpers import load_app, shared_data

SIDE = 64
# The fixed detections of `FixedDetections`, in input pixels (the third row is padding).
BOXES = np.array([[4.0, 6.0, 40.0, 30.0], [30.0, 20.0, 60.0, 44.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
SCORES = np.array([0.9, 0.6, 0.0], np.float32)
CLASSES = np.array([1, 2, 0], np.int32)
NAMES = ["background", "cat", "dog"]


def expected_content(height, width, side):
    """The content size, computed independently: the longer side is `side`, rounded half up."""
    scale = side / max(height, width)
    return tuple(max(1, int(np.floor(n * scale + 0.5))) for n in (height, width))


@pytest.mark.parametrize("size", [(480, 640), (427, 640), (640, 359), (333, 500), (7, 1000), (64, 64)])
def test_letterbox_keeps_the_aspect_pads_bottom_right_and_maps_boxes_back_exactly(size):
    height, width = size
    content = letterbox.content_size(height, width, SIDE)
    assert content == expected_content(height, width, SIDE) == tuple(letterbox.content_size_tensor(size, SIDE).numpy())
    image = letterbox.letterbox(tf.fill([height, width, 3], 200.0), SIDE).numpy()
    assert image.shape == (SIDE, SIDE, 3)
    assert np.allclose(image[: content[0], : content[1]], 200.0, atol=0.01)  # the content, top-left
    assert (image[content[0] :] == 0).all() and (image[:, content[1] :] == 0).all()  # zero padding
    mask = letterbox.letterbox_mask(tf.zeros([height, width, 1], tf.uint8), SIDE, 255).numpy()[..., 0]
    assert (mask[: content[0], : content[1]] == 0).all() and (mask == 255).sum() == SIDE * SIDE - np.prod(content)
    # Boxes in the original's pixels -> input pixels (as training labels them) -> back.
    original = np.array([[0, 0, width, height], [width * 0.1, height * 0.25, width * 0.7, height * 0.9]])
    normalised = original / [width, height, width, height]
    inputs = letterbox.boxes_to_input(tf.constant(normalised, tf.float32), size, SIDE).numpy()
    assert inputs[0].tolist() == [0, 0, content[1], content[0]]
    np.testing.assert_allclose(letterbox.boxes_to_original(inputs, height, width, SIDE), original, rtol=1e-6)
    # A class map of the content only comes back at the original size, every pixel of its class.
    labels = np.full((SIDE, SIDE), 255)
    labels[: content[0], : content[1]] = np.arange(content[1]) // max(1, content[1] // 2)
    back = letterbox.mask_to_original(labels, height, width)
    assert back.shape == (height, width) and 255 not in back


@keras.saving.register_keras_serializable(package="test_predict_app")
class FixedDetections(keras.layers.Layer):
    """The detection output contract, with the same two detections for any image."""

    def call(self, images):
        count = ops.shape(images)[0]

        def repeat(value, dtype):
            value = ops.convert_to_tensor(value, dtype)
            return ops.broadcast_to(value[None], (count, *value.shape))

        return (repeat(BOXES, "float32"), repeat(SCORES, "float32"), repeat(CLASSES, "int32"),
                repeat(np.array(2, np.int32), "int32"))  # fmt: skip


def detector(folder):
    inputs = keras.Input((SIDE, SIDE, 3))
    boxes, scores, classes, count = FixedDetections()(inputs)
    model = keras.Model(inputs, {"boxes": boxes, "scores": scores, "classes": classes, "num_detections": count})
    folder.mkdir()
    model.save(folder / "model.keras")
    (folder / "labels.txt").write_text("\n".join(NAMES) + "\n")
    return model


def two_photos(folder):
    photos = sorted((shared_data(folder) / "images").glob("*.jpg"))[:2]
    assert len(photos) == 2
    return photos


def test_detection_draws_boxes_and_writes_coco_results_in_the_photos_pixels(tmp_path, capsys):
    detector(tmp_path / "export")
    photos = two_photos("detection-mini")
    out = tmp_path / "out"
    assert load_app("predict").main([*map(str, photos), "--model", str(tmp_path / "export/model.keras"),
                                     "--output-dir", str(out), "--min-score", "0.5"]) == 0  # fmt: skip
    assert "2 detections, 2 scoring >= 0.5" in capsys.readouterr().out
    results = json.loads((out / prediction.DETECTIONS_FILE).read_text())
    assert len(results) == 4 and {r["file_name"] for r in results} == {p.name for p in photos}
    for photo in photos:
        picture = np.asarray(Image.open(out / f"{photo.stem}.png").convert("RGB"))
        original = drawing.read_photo(photo)
        height, width = original.shape[:2]
        assert picture.shape == original.shape
        content_h, content_w = expected_content(height, width, SIDE)
        mine = [r for r in results if r["file_name"] == photo.name]
        assert [(r["category_id"], r["category_name"], r["score"]) for r in mine] == [(1, "cat", 0.9), (2, "dog", 0.6)]
        for r, (x1, y1, x2, y2) in zip(mine, BOXES):
            x1, x2 = (min(x * width / content_w, width) for x in (x1, x2))  # clipped to the photo
            y1, y2 = (min(y * height / content_h, height) for y in (y1, y2))
            expected = [x1, y1, x2 - x1, y2 - y1]
            np.testing.assert_allclose(r["bbox"], expected, atol=0.006)  # the JSON rounds to 0.01 px
            x, y, w, h = (int(round(v)) for v in r["bbox"])
            edge = (slice(y + h // 2, y + h // 2 + 1), slice(x, x + 1))  # the box's left side, halfway down
            assert np.abs(picture[edge].astype(int) - original[edge]).sum() > 0
        changed = np.abs(picture.astype(int) - original).sum(-1) > 0
        far = changed[int(32 * height / content_h) + 3 :, : int(28 * width / content_w)]  # below box 1, left of box 2
        assert far.size and not far.any()


def test_detections_carry_the_training_datas_category_ids(tmp_path, capsys):
    """A detection export's categories.json (COCO's ids need not be the class indices) names
    each detection's category_id; one that does not match labels.txt is refused."""
    detector(tmp_path / "export")
    categories = tmp_path / "export" / CATEGORIES_FILE
    categories.write_text(json.dumps([{"id": 0, "name": "background"}, {"id": 17, "name": "cat"}, {"id": 18, "name": "dog"}]))
    photo = two_photos("detection-mini")[0]
    found = prediction.detect(prediction.load(tmp_path / "export" / "model.keras"), photo)
    assert [(d["category_id"], d["category_name"]) for d in found] == [(17, "cat"), (18, "dog")]
    categories.write_text(json.dumps([{"id": 1, "name": "person"}]))  # a stale file of another export
    with pytest.raises(SystemExit) as refused:
        load_app("predict").main([str(photo), "--model", str(tmp_path / "export"), "--output-dir", str(tmp_path / "out")])
    assert refused.value.code == 2 and "come from different exports" in capsys.readouterr().err


def test_saved_model_and_tflite_files_detect_the_same(tmp_path):
    from keras_resnets.export.artifacts import write_saved_model, write_tflite

    model = detector(tmp_path / "export")
    write_saved_model(model, tmp_path / "export" / "saved_model")
    write_tflite(model, tmp_path / "export" / "model.tflite")
    photo = two_photos("detection-mini")[0]
    reference = prediction.detect(prediction.load(tmp_path / "export" / "model.keras"), photo)
    assert len(reference) == 2
    for artifact in ("saved_model", "model.tflite"):
        loaded = prediction.load(tmp_path / "export" / artifact)
        assert loaded.labels == NAMES and loaded.image_size == SIDE
        assert prediction.detect(loaded, photo) == reference, artifact


def segmenter(folder):
    """Class = the photo's dominant colour channel (a fixed 1x1 convolution: logits = R, G, B)."""
    inputs = keras.Input((SIDE, SIDE, 3))
    conv = keras.layers.Conv2D(3, 1, use_bias=False, name="channels")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.eye(3, dtype=np.float32)[None, None]])
    folder.mkdir()
    model.save(folder / "model.keras")
    (folder / "labels.txt").write_text("red\ngreen\nblue\n")
    return model


def test_segmentation_blends_the_mask_and_counts_every_pixel_of_the_photo(tmp_path, capsys):
    segmenter(tmp_path / "export")
    (tmp_path / "photos").mkdir()
    photos = [shutil.copy(p, tmp_path / "photos") for p in two_photos("segmentation-mini")]
    out = tmp_path / "out"
    # A folder of photos in; the export folder as the model.
    assert load_app("predict").main([str(tmp_path / "photos"), "--model", str(tmp_path / "export"),
                                     "--output-dir", str(out)]) == 0  # fmt: skip
    assert len(capsys.readouterr().out.splitlines()) == 2
    photos = [Path(p) for p in photos]
    for photo in photos:
        original = drawing.read_photo(photo)
        height, width = original.shape[:2]
        counts = json.loads((out / f"{photo.stem}.json").read_text())
        assert (counts["width"], counts["height"]) == (width, height)
        assert sum(counts["pixels"].values()) == width * height and set(counts["pixels"]) <= {"red", "green", "blue"}
        # The dominant channel of the photo itself agrees with the mapped-back mask almost everywhere.
        truth = np.bincount(np.argmax(original, -1).ravel(), minlength=3)
        found = np.array([counts["pixels"].get(name, 0) for name in ("red", "green", "blue")])
        assert np.abs(found - truth).sum() / (width * height) < 0.1
        picture = np.asarray(Image.open(out / f"{photo.stem}.png").convert("RGB"))
        assert picture.shape == (max(height, 4 * drawing.LEGEND_ROW), width + drawing.LEGEND_WIDTH, 3)
        assert np.abs(picture[:height, :width].astype(int) - original).mean() > 10  # the blended mask


def test_bad_inputs_say_what_to_do(tmp_path, capsys):
    segmenter(tmp_path / "export")
    predict = load_app("predict")
    model = ["--model", str(tmp_path / "export" / "model.keras")]
    (tmp_path / "empty").mkdir()
    for argv, message in [
        ([str(tmp_path / "missing.jpg"), *model], "no such file or folder; pass photo files or a folder"),
        ([str(tmp_path / "empty"), *model], "holds no images (JPEG, PNG, BMP or GIF"),
        ([str(tmp_path / "empty"), "--model", str(tmp_path / "nothing.keras")], "pass a .keras or .tflite file"),
        ([str(tmp_path / "empty"), *model, "--weights", "none"], "apply to a registered model name"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            predict.main(argv)
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    photo = two_photos("segmentation-mini")[0]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(photo, tmp_path / folder)
    with pytest.raises(SystemExit) as exit_:
        predict.main([str(tmp_path / "a"), str(tmp_path / "b"), *model])
    assert exit_.value.code == 2 and f"would both write {photo.stem}.png" in capsys.readouterr().err
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a photo")
    assert predict.main([str(tmp_path / "photos"), *model, "--output-dir", str(tmp_path / "out")]) == 1
    assert "broken.jpg: cannot read" in capsys.readouterr().err


def test_classification_prints_the_top_k_classes_as_before(tmp_path, capsys):
    inputs = keras.Input((SIDE, SIDE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="probabilities")(pooled))
    (tmp_path / "export").mkdir()
    model.save(tmp_path / "export" / "model.keras")
    (tmp_path / "export" / "labels.txt").write_text("red\ngreen\nblue\n")
    photo = two_photos("detection-mini")[0]
    assert load_app("predict").main([str(photo), "--model", str(tmp_path / "export"), "--top-k", "2"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    shares = model.predict(np.stack([prediction.images.load_image(photo, SIDE).numpy()]), verbose=0)[0]
    best = np.argsort(shares)[::-1][:2]
    assert line == f"{photo}: " + ", ".join(f"{['red', 'green', 'blue'][i]} {shares[i]:.1%}" for i in best)


def test_a_registered_name_is_built_with_the_weights_asked_for(capsys):
    model = prediction.load("resnet20", weights="none")  # random weights: nothing to download
    assert model.image_size == 32 and model.labels is None and model.source == "resnet20"
    photo = two_photos("detection-mini")[0]
    task, unreadable = prediction.predict(model, [photo], top_k=3)
    (line,) = capsys.readouterr().out.splitlines()
    assert (task, unreadable) == ("classification", 0)
    assert [name.isdigit() for name in line.split(": ")[1].split()[::2]] == [True] * 3  # class indices
    with pytest.raises(ValueError, match="Did you mean"):
        prediction.load("resnet2O")
