"""Real sample images for `apps/export.py`'s checks and int8 calibration, as float32 RGB
[0, 255] at the model's size. (The export library takes arrays; reading image sources is
the tasks' business, so this lives here and `export/` imports nothing from `tasks/`.)

Sources: a `.npz` of uint8 images (`x` or `images`) with optional labels (`y` or `labels`)
and `class_names`, such as `../shared/data/cifar10-test/`; a folder with a `labels.csv`
(`file,class_index`, as `../shared/data/imagenet-sample/`); a `<class>/<image>` folder
(labels: the sorted class folders' indices); a segmentation folder (`images/`, `masks/`,
`classes.txt`, as `../shared/data/segmentation-mini/`: letterboxed as evaluation sees them,
with their class maps, from its test split for checks and its train split for
calibration); a detection folder (`images/` with `annotations.json` or YOLO `labels/`, as
`../shared/data/detection-mini/`: letterboxed as evaluation sees them, with their boxes in
input pixels, split the same way); or a tensorflow-datasets name (its train split, for
calibration). A limit takes images spread evenly over the source, so a class-sorted file
still gives every class (a segmentation or detection split: its first images).
"""

import csv
from pathlib import Path

import numpy as np


def spread(count, limit):
    """Up to `limit` indices spread evenly over `range(count)`."""
    if limit is None or limit >= count:
        return np.arange(count)
    return np.linspace(0, count - 1, limit).round().astype(int)


def _resize(images, image_size):
    if images.shape[1:3] == (image_size, image_size):
        return images.astype(np.float32)
    from keras_resnets.tasks import images as image_files

    return image_files.resize_eval(images, image_size).numpy()


def _load_npz(path, image_size, limit):
    arrays = np.load(path)
    images = arrays["x"] if "x" in arrays else arrays["images"]
    labels = arrays["y"] if "y" in arrays else arrays.get("labels")
    keep = spread(len(images), limit)
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else None
    return _resize(images[keep], image_size), None if labels is None else labels[keep], names


def _folder_files(root):
    """[(relative file, label or None)] of an image folder, and the class names if any."""
    from keras_resnets.tasks import classification_data, images as image_files

    table = root / "labels.csv"
    if table.exists():
        with open(table) as f:
            return [(row["file"], int(row["class_index"])) for row in csv.DictReader(f)], None
    if any(p.is_dir() for p in root.iterdir()):
        classes, files, _ = classification_data.scan_folder(root)
        return [(f, classes.index(c)) for c in classes for f in files[c]], classes
    suffixes = image_files.IMAGE_EXTENSIONS
    return [(p.name, None) for p in sorted(root.iterdir()) if p.suffix.lower() in suffixes], None


def _load_folder(root, image_size, limit):
    from keras_resnets.tasks import images as image_files

    files, names = _folder_files(root)
    if not files:
        raise ValueError(f"{root} holds no images (JPEG, PNG, BMP or GIF).")
    files = [files[i] for i in spread(len(files), limit)]
    images = np.stack([image_files.load_image(root / f, image_size).numpy() for f, _ in files])
    labels = None if files[0][1] is None else np.array([label for _, label in files])
    return images, labels, names


def is_segmentation_folder(path):
    return Path(path, "images").is_dir() and Path(path, "masks").is_dir()


def is_detection_folder(path):
    from keras_resnets.tasks.detection_data import COCO_FILE

    return Path(path, "images").is_dir() and (Path(path, COCO_FILE).is_file() or Path(path, "labels").is_dir())


def has_splits(path):
    """Whether `path` is a segmentation or detection folder, whose own splits say what is
    evaluated and what calibrates."""
    return is_segmentation_folder(path) or is_detection_folder(path)


def _load_segmentation(root, image_size, limit, split):
    from keras_resnets.tasks import segmentation_data

    source = segmentation_data.load_folder(root)
    chosen = source.splits[split]
    images, masks = segmentation_data.take(chosen, image_size, min(limit or chosen.count, chosen.count))
    return images, masks, source.class_names


def _load_detection(root, image_size, limit, split):
    from keras_resnets.tasks import detection_data
    from keras_resnets.tasks.options import DetectionOptions

    source = detection_data.load_folder(root)
    chosen = source.splits[split]
    count = min(limit or chosen.count, chosen.count)
    images, boxes = detection_data.take_labelled(chosen, image_size, count, DetectionOptions.max_boxes)
    return images, boxes, source.class_names


def load_images(path, image_size, limit=None, split="test"):
    """(images, labels or None, class names or None) from a `.npz` file or an image folder;
    `split`: which split of a segmentation or detection folder (`has_splits`)."""
    path = Path(path)
    if path.suffix == ".npz" and path.is_file():
        return _load_npz(path, image_size, limit)
    if is_segmentation_folder(path):
        return _load_segmentation(path, image_size, limit, split)
    if is_detection_folder(path):
        return _load_detection(path, image_size, limit, split)
    if path.is_dir():
        return _load_folder(path, image_size, limit)
    raise FileNotFoundError(f"{path} is neither a .npz file nor an image folder.")


def load_dataset_images(name, image_size, limit):
    """Up to `limit` train images of a tensorflow-datasets classification set."""
    from keras_resnets.tasks import classification_data

    source = classification_data.load_tfds(name)
    return classification_data.take_images(source.splits["train"], image_size, limit)
