"""Detection data: COCO and YOLO folders, bad annotations, and boxes that move with the image."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_resnets.tasks import detection_data as data
from keras_resnets.training.errors import DataError
from helpers import shared_data


@pytest.mark.parametrize("data_format", data.FORMATS)
def test_both_formats_of_detection_mini_hold_the_same_boxes(data_format):
    root = shared_data("detection-mini")
    _, categories, annotated, problems = data.scan_folder(root, data_format)
    assert problems == [] and len(annotated) == 128 and len(categories) == 80
    assert sum(len(a.annotations) for a in annotated) == 929  # PROVENANCE.md
    background = sorted(a.path.rsplit("/", 1)[1] for a in annotated if not a.annotations)
    assert background == ["000000000250.jpg", "000000000508.jpg"]


def test_yolo_boxes_agree_with_the_coco_json():
    root = shared_data("detection-mini")
    coco = {a.path: a for a in data.scan_folder(root, "coco")[2]}
    yolo = {a.path: a for a in data.scan_folder(root, "yolo")[2]}
    def boxes(image):
        return sorted((a["bbox"] for a in image.annotations), key=lambda b: np.round(b).tolist())

    for path, image in coco.items():
        expected, found = boxes(image), boxes(yolo[path])
        np.testing.assert_allclose(found, expected, atol=0.02)  # the JSON rounds to 0.01 px


def copy_images(root, count):
    source = shared_data("detection-mini")
    (root / "images").mkdir(parents=True)
    names = sorted(p.name for p in (source / "images").iterdir())[:count]
    for name in names:
        shutil.copy(source / "images" / name, root / "images" / name)
    return names, json.loads((source / "annotations.json").read_text())


def bad_coco_folder(root):
    names, coco = copy_images(root, 8)
    (root / "images" / names[1]).write_bytes(b"not an image")
    images = [image for image in coco["images"] if image["file_name"] in names]
    first, second = images[0]["id"], images[2]["id"]
    good = {"image_id": first, "category_id": 1, "bbox": [10, 10, 50, 40], "iscrowd": 0}
    annotations = [
        {**good, "id": 1},
        {**good, "id": 2, "bbox": [10, 10, 0, 40]},  # degenerate
        {**good, "id": 3, "bbox": [300, 10, 200, 40]},  # outside the image
        {**good, "id": 4, "category_id": 999},  # unknown class
        {**good, "id": 5, "image_id": second},
    ]
    (root / "annotations.json").write_text(json.dumps({**coco, "images": images, "annotations": annotations}))
    return names[1]


def test_bad_coco_annotations_name_the_file_or_are_skipped(tmp_path):
    unreadable = bad_coco_folder(tmp_path)
    with pytest.raises(DataError) as error:
        data.scan_folder(tmp_path)
    message = str(error.value)
    assert error.value.option == "skip_bad" and "4 unusable" in message
    for reason in ("degenerate", "outside its", "unknown category_id 999", f"images/{unreadable}: "):
        assert reason in message
    _, _, annotated, problems = data.scan_folder(tmp_path, skip_bad=True)
    assert len(problems) == 4 and len(annotated) == 7  # the unreadable image is left out
    assert sorted(len(a.annotations) for a in annotated) == [0, 0, 0, 0, 0, 1, 1]


def test_bad_yolo_labels_name_the_file_and_line(tmp_path):
    names, _ = copy_images(tmp_path, 3)
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "labels").mkdir()
    stem = names[0].rsplit(".", 1)[0]
    lines = ["0 0.5 0.5 0.2 0.2", "7 0.5 0.5 0.2 0.2", "1 0.9 0.5 0.4 0.2", "broken"]
    (tmp_path / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataError) as error:
        data.scan_folder(tmp_path)
    message = str(error.value)
    assert f"{stem}.txt:2: unknown class id 7" in message
    assert f"{stem}.txt:3: box" in message and "outside" in message
    assert f"{stem}.txt:4:" in message and "orphan.txt: a label file without its image" in message
    _, _, annotated, problems = data.scan_folder(tmp_path, skip_bad=True)
    assert len(problems) == 4 and [len(a.annotations) for a in annotated] == [1, 0, 0]


def square_image(box, side=200):
    """A dark image with a bright rectangle at `box` (normalised xyxy)."""
    image = np.zeros((side, side + 40, 3), np.uint8)
    x1, y1, x2, y2 = (np.array(box) * [side + 40, side, side + 40, side]).astype(int)
    image[y1:y2, x1:x2] = 255
    return tf.constant(image)


@pytest.mark.parametrize("augment", ["crop", "flip"])
def test_augmentation_moves_the_boxes_with_the_image(augment):
    box = [0.15, 0.3, 0.45, 0.7]
    image = square_image(box)
    moved = 0
    for seed in range(12):
        seeds = tf.constant([seed, 7])
        out, boxes, classes = data.augmented(image, tf.constant([box]), tf.constant([3]), seeds, augment)
        labels = data.labels(boxes, classes, tf.shape(out)[:2], 64, max_boxes=4).numpy()
        out = data.letterbox(out, 64).numpy()  # as the training pipeline does
        if classes.shape[0] == 0:
            continue  # cropped away
        x1, y1, x2, y2 = np.round(labels[0, :4]).astype(int)
        inside = out[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1].mean()
        outside = (out.sum() - out[y1:y2, x1:x2].sum()) / max(out.size - out[y1:y2, x1:x2].size, 1)
        assert inside > 240 and outside < 15, (seed, labels[0])
        assert labels[0, 4] == 3 and (labels[1:] == -1).all()
        moved += not np.allclose(labels[0, :4], np.array(box) * 64)
    assert moved >= 3  # the augmentation did change the boxes


def test_yolo_images_without_a_label_file_are_counted_in_the_log(tmp_path, caplog):
    names, _ = copy_images(tmp_path, 3)
    (tmp_path / "classes.txt").write_text("cat\n")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / f"{names[0].rsplit('.', 1)[0]}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with caplog.at_level("INFO", logger="keras_resnets.tasks.detection_data"):
        data.scan_folder(tmp_path, "yolo")
    assert "2 of 3 images have no label file" in caplog.text
    assert names[1] in caplog.text and names[2] in caplog.text and names[0] not in caplog.text
    caplog.clear()
    shutil.rmtree(tmp_path / "labels")  # a misnamed folder: nothing is labelled, a warning
    with caplog.at_level("INFO", logger="keras_resnets.tasks.detection_data"):
        data.scan_folder(tmp_path, "yolo")
    assert [r.levelname for r in caplog.records if "no label file" in r.message] == ["WARNING"]


def test_apps_export_reads_a_detection_folders_split_letterboxed_with_its_boxes():
    """apps/export.py's `--eval-data` (sample_images): a detection folder is read as the
    detect app reads it, split by split (`--eval-split`), boxes in input pixels."""
    from keras_resnets.tasks import sample_images

    folder = shared_data("detection-mini")
    images, boxes, names = sample_images.load_images(folder, 64, 3, split="val")
    expected_images, expected_boxes = data.take_labelled(data.load_folder(folder).splits["val"], 64, 3, 100)
    assert images.shape == (3, 64, 64, 3) and len(names) == 80
    np.testing.assert_array_equal(boxes, expected_boxes)
    np.testing.assert_array_equal(images, expected_images)
    real = boxes[boxes[..., 4] >= 0]
    assert len(real) and real[:, :4].min() >= 0 and real[:, :4].max() <= 64
    assert sample_images.has_splits(folder) and not sample_images.has_splits(shared_data("flowers-mini"))
