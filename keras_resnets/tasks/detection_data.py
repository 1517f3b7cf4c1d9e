"""Object-detection data as `tf.data` pipelines: COCO JSON or YOLO folders, or tensorflow-datasets.

Local folders, in one of two layouts (`data_format` "coco" or "yolo"; by default COCO
when `annotations.json` exists):
- COCO: `annotations.json` (`images` with `id`, `file_name`, `width`, `height`;
  `annotations` with `image_id`, `category_id`, `bbox` [x, y, w, h] in pixels, optional
  `iscrowd`; `categories` with `id`, `name`) and the files under `images/`.
- YOLO: `images/<name>.jpg`, `labels/<name>.txt` (one `class cx cy w h` line per box,
  normalised to [0, 1]) and `classes.txt` (one name per line, in id order).
An image without boxes (no label file, or no annotation) is background and trains as such;
how many YOLO images have no label file is logged (with a few names), since a misnamed
`labels/` folder would otherwise train a detector on background alone.

Everything is checked once before training: an unreadable image, an image of another size
than its annotation says, a label file without its image, an unknown class id, a
malformed line, a degenerate box (width or height <= 0) or one outside its image (by more
than `SLACK_PX`; boxes within it are clipped) is an error naming the file, or, with
`skip_bad`, the box (or the image) is left out and listed. Nothing can fail mid-epoch.
Crowd regions (`iscrowd` 1) are not trained on and are ignored by the mAP, as COCO does.
The split is the seeded 70/15/15 rule on all image names (`data.split_group`).

Pipelines decode each image, shrink it (`images.shrink`), cache it with its boxes
normalised to [0, 1] when that fits (else decode it again every epoch: `image_cache`),
and then augment: a random crop (boxes cut to it; those keeping
less than `MIN_VISIBLE` of their area dropped) and a horizontal flip move the boxes with
the image (`augment="flip"`: flip only; "none": neither). Every image, trained on or
evaluated, is then letterboxed into the square input (`letterbox`: aspect kept, longer
side S, zero padding bottom/right), never squashed: the crop's aspect ratio varies (0.5
to 2), and squashing it would train on shapes that evaluation and prediction never show.
Evaluation letterboxes the whole image (its content size read off the original's size)
and predictions are mapped back to the image's own pixels (`letterbox.boxes_to_original`).
Training batches are (float32 RGB [0, 255] images (N, S, S, 3), float32 boxes (N,
max_boxes, 5) [x1, y1, x2, y2, class] in input pixels, padded with -1 rows).
"""

import dataclasses
import json
import logging
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow as tf

from keras_resnets.tasks.data import (
    CLASSES_FILE, NAMES_RULE, Source, Split, check_all, list_images, make_splits, prepared_builder,
    read_class_names, refuse_or_skip, split_group, tfds_records, tfds_source,
)  # fmt: skip
from keras_resnets.tasks.images import (
    cache_side, check_image, decode_bytes, decode_file, examples, random_crop_window, shrink,
)  # fmt: skip
from keras_resnets.tasks.letterbox import boxes_to_input, letterbox
from keras_resnets.tasks.options import DETECTION_AUGMENTATIONS, DETECTION_FORMATS, DETECTION_TFDS_SETS
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)

COCO_FILE = "annotations.json"
FORMATS = DETECTION_FORMATS
AUGMENTATIONS = DETECTION_AUGMENTATIONS
SLACK_PX = 1.0  # boxes may overrun their image by this much (rounding); they are clipped
MIN_VISIBLE = 0.3  # a cropped box keeping less of its area is dropped
SHOWN_UNLABELLED = 5


@dataclasses.dataclass
class DetectionSplit(Split):
    # The split's annotations in COCO format (in each image's own pixels), for `coco_map`.
    ground_truth: Optional[dict] = None


@dataclasses.dataclass
class Annotated:
    """One image of a local folder and its COCO annotation dicts (bbox in its pixels)."""

    path: str
    image_id: int
    width: int
    height: int
    annotations: list


# ---------------------------------------------------------------- local folders


def image_size(path):
    """((width, height), None) for a readable image, else (None, the reason)."""
    from PIL import Image

    problem = check_image(path)
    if problem:
        return None, problem
    with Image.open(path) as image:
        return image.size, None


def check_box(bbox, width, height):
    """(the box clipped to the image, None) or (None, what is wrong with it)."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None, f"bbox {bbox!r} is not four numbers [x, y, w, h]"
    if not np.all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
        return None, f"degenerate box [x, y, w, h] = {[x, y, w, h]} (width and height must be > 0)"
    if x < -SLACK_PX or y < -SLACK_PX or x + w > width + SLACK_PX or y + h > height + SLACK_PX:
        return None, f"box [x, y, w, h] = {[x, y, w, h]} lies outside its {width}x{height} image"
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    if x2 <= x1 or y2 <= y1:
        return None, f"box [x, y, w, h] = {[x, y, w, h]} has no area inside its {width}x{height} image"
    return [x1, y1, x2 - x1, y2 - y1], None


def scan_coco(root):
    """(categories, [Annotated], problems [(file, reason)]) of a COCO-format folder."""
    path = root / COCO_FILE
    try:
        coco = json.loads(path.read_text())
        images, annotations, categories = coco["images"], coco.get("annotations", []), coco["categories"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{path} is not COCO JSON with images, annotations and categories ({exc}).", "data_dir"
        ) from None
    categories = sorted(({"id": c["id"], "name": c["name"]} for c in categories), key=lambda c: c["id"])
    known = {c["id"] for c in categories}
    files = [root / "images" / image["file_name"] for image in images]
    problems, annotated = [], {}
    for image, file, (size, problem) in zip(images, files, check_all(image_size, files)):
        if problem is None and size != (image["width"], image["height"]):
            problem = f"{COCO_FILE} says {image['width']}x{image['height']}, the file is {size[0]}x{size[1]}"
        if problem:
            problems.append((str(file), problem))
        else:
            annotated[image["id"]] = Annotated(str(file), image["id"], image["width"], image["height"], [])
    names = {image["id"]: image["file_name"] for image in images}
    for annotation in annotations:
        where = f"{path} annotation {annotation.get('id')} (image {names.get(annotation.get('image_id'), '?')})"
        image = annotated.get(annotation.get("image_id"))
        if annotation.get("image_id") not in names:
            problems.append((where, f"image_id {annotation.get('image_id')} is not among the images"))
            continue
        if image is None:
            continue  # its image is unusable and listed already
        if annotation.get("category_id") not in known:
            problems.append((where, f"unknown category_id {annotation.get('category_id')}"))
            continue
        bbox, problem = check_box(annotation.get("bbox"), image.width, image.height)
        if problem:
            problems.append((where, problem))
            continue
        image.annotations.append({**annotation, "bbox": bbox})
    return categories, list(annotated.values()), problems


def read_yolo_labels(path, names, width, height):
    """(COCO annotation dicts, problems) of one YOLO label file."""
    annotations, problems = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split()
        try:
            cls, cx, cy, w, h = int(fields[0]), *map(float, fields[1:5])
            if len(fields) != 5:
                raise ValueError
        except (ValueError, IndexError):
            problems.append((where, f"{line.strip()!r} is not 'class cx cy w h'"))
            continue
        if not 0 <= cls < len(names):
            problems.append((where, f"unknown class id {cls} ({CLASSES_FILE} lists {len(names)}: 0..{len(names) - 1})"))
            continue
        bbox, problem = check_box([(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height], width, height)
        if problem:
            problems.append((where, problem))
            continue
        annotations.append({"category_id": cls, "bbox": bbox, "iscrowd": 0})
    return annotations, problems


def scan_yolo(root):
    """(categories, [Annotated], problems) of a YOLO-format folder."""
    names = read_class_names(root)
    files = list_images(root / "images")
    stems = {p.stem for p in files}
    labels = root / "labels"
    problems = [
        (str(p), f"a label file without its image (no images/{p.stem}.*)")
        for p in (sorted(labels.glob("*.txt")) if labels.is_dir() else [])
        if p.stem not in stems
    ]
    annotated, unlabelled = [], []
    for index, (file, (size, problem)) in enumerate(zip(files, check_all(image_size, files)), start=1):
        if problem:
            problems.append((str(file), problem))
            continue
        label = labels / f"{file.stem}.txt"
        if not label.exists():
            unlabelled.append(file.name)
        boxes, bad = read_yolo_labels(label, names, *size) if label.exists() else ([], [])
        problems += bad
        annotated.append(Annotated(str(file), index, *size, boxes))
    log_unlabelled(unlabelled, len(annotated), labels)
    return [{"id": i, "name": n} for i, n in enumerate(names)], annotated, problems


def log_unlabelled(names, count, labels):
    """One line on the images without a label file (background): a warning when none of
    the `count` images has one, which is more likely a misnamed folder than a data set."""
    if not names:
        return
    shown = ", ".join(names[:SHOWN_UNLABELLED]) + (", ..." if len(names) > SHOWN_UNLABELLED else "")
    level = logging.WARNING if len(names) == count else logging.INFO
    log.log(level, "%d of %d images have no label file in %s and train as background: %s",
            len(names), count, labels, shown)  # fmt: skip


def scan_folder(root, data_format=None, skip_bad=False):
    root = Path(root)
    data_format = data_format or ("coco" if (root / COCO_FILE).exists() else "yolo")
    if data_format not in FORMATS or not (root / "images").is_dir():
        raise DataError(
            f"{root} must hold images/ and either {COCO_FILE} (COCO format) or labels/<name>.txt "
            f"and {CLASSES_FILE} (YOLO format); data_format is one of {FORMATS} (got {data_format!r}).",
            "data_dir",
        )
    categories, annotated, problems = (scan_coco if data_format == "coco" else scan_yolo)(root)
    heading = f"{len(problems)} unusable annotations or images in {root}"
    refuse_or_skip([f"{file}: {why}" for file, why in problems], skip_bad, heading)
    if not annotated:
        raise DataError(f"{root}/images holds no usable image.", "data_dir")
    return data_format, categories, annotated, problems


def ground_truth(annotated, categories):
    """COCO annotations of `annotated` images, numbered afresh."""
    images = [
        {"id": a.image_id, "file_name": Path(a.path).name, "width": a.width, "height": a.height} for a in annotated
    ]
    annotations = [
        {**ann, "id": number, "image_id": a.image_id, "area": ann.get("area", ann["bbox"][2] * ann["bbox"][3]),
         "iscrowd": int(ann.get("iscrowd", 0))}  # fmt: skip
        for number, (a, ann) in enumerate(((a, ann) for a in annotated for ann in a.annotations), start=1)
    ]
    return {"images": images, "annotations": annotations, "categories": categories}


def local_split(annotated, categories):
    """A `DetectionSplit` of (image, normalised boxes, classes, image id, (height, width))."""
    index = {c["id"]: i for i, c in enumerate(categories)}
    boxes, classes, lengths = [], [], []
    for a in annotated:
        trained = [ann for ann in a.annotations if not ann.get("iscrowd", 0)]
        xywh = np.array([ann["bbox"] for ann in trained], np.float32).reshape(-1, 4)
        scale = np.array([a.width, a.height, a.width, a.height], np.float32)
        boxes.append(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) / scale)
        classes.append(np.array([index[ann["category_id"]] for ann in trained], np.int32))
        lengths.append(len(trained))
    ds = tf.data.Dataset.from_tensor_slices((
        [a.path for a in annotated],
        tf.RaggedTensor.from_row_lengths(np.concatenate(boxes), lengths),
        tf.RaggedTensor.from_row_lengths(np.concatenate(classes), lengths),
        np.array([a.image_id for a in annotated], np.int64),
        np.array([(a.height, a.width) for a in annotated], np.int32),
    ))  # fmt: skip
    return DetectionSplit(ds, len(annotated), decode_record, ground_truth(annotated, categories))


def decode_record(path, boxes, classes, image_id, size):
    return decode_file(path), boxes, classes, image_id, size


def load_folder(root, data_format=None, skip_bad=False, max_images=None):
    data_format, categories, annotated, skipped = scan_folder(root, data_format, skip_bad)
    by_name = {Path(a.path).name: a for a in annotated}
    # max_images cuts each split before its ground truth is made, so that the two agree.
    rows = {split: [by_name[name] for name in names][:max_images] for split, names in split_group(by_name).items()}
    splits = make_splits(rows, lambda chosen: local_split(chosen, categories), lambda split: (
        f"The {split} split of {root} is empty: it needs at least 7 usable images."
    ))  # fmt: skip
    names = [c["name"] for c in categories]
    return Source(f"{Path(root).resolve().name} ({data_format})", names, splits, NAMES_RULE, skipped)


# ------------------------------------------------------------ tensorflow-datasets

TFDS_SETS = DETECTION_TFDS_SETS


def load_tfds(name, data_dir=None, max_images=None):
    """A tfds detection set. Records keep each file's encoded image (`tfds_records`), decoded
    as an example is made; the ground truth is read from them once per split."""
    if name not in TFDS_SETS:
        raise DataError(f"{name!r} is not a detection set this task reads; use one of {TFDS_SETS}.", "dataset")
    builder = prepared_builder(name, data_dir)
    names = builder.info.features["objects"]["label"].names
    categories = [{"id": i, "name": n} for i, n in enumerate(names)]

    def split_of(expression):
        records = builder.as_dataset(split=expression, decoders=tfds_records("image"))
        records = records.enumerate(start=1).take(max_images or -1)
        return DetectionSplit(
            records.map(_tfds_record, num_parallel_calls=tf.data.AUTOTUNE), int(records.cardinality()),
            decode_tfds_record, _tfds_ground_truth(records, categories),
        )  # fmt: skip

    return tfds_source(name, builder, names, split_of)


def _crowd(objects):
    return objects.get("is_crowd", tf.zeros_like(objects["label"], tf.bool))


def _tfds_record(number, example):
    """tfds boxes are normalised [ymin, xmin, ymax, xmax]; crowd regions are not trained on."""
    objects = example["objects"]
    keep = ~_crowd(objects)
    boxes = tf.gather(tf.boolean_mask(objects["bbox"], keep), [1, 0, 3, 2], axis=1)
    return example["image"], boxes, tf.cast(tf.boolean_mask(objects["label"], keep), tf.int32), number


def decode_tfds_record(encoded, boxes, classes, number):
    image = decode_bytes(encoded)
    return image, boxes, classes, number, tf.shape(image)[:2]


def _tfds_ground_truth(encoded, categories):
    annotated = []
    for number, example in encoded.as_numpy_iterator():
        height, width = tf.image.extract_jpeg_shape(example["image"]).numpy()[:2]
        objects = example["objects"]
        crowd = objects.get("is_crowd", np.zeros(len(objects["label"]), bool))
        annotations = [
            {"category_id": int(label), "iscrowd": int(c),
             "bbox": [x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height]}  # fmt: skip
            for (y1, x1, y2, x2), label, c in zip(objects["bbox"], objects["label"], crowd)
        ]
        annotated.append(Annotated("", int(number), int(width), int(height), annotations))
    return ground_truth(annotated, categories)


# ---------------------------------------------------------------------- pipelines


def random_crop(image, boxes, classes, seed, area=(0.3, 1.0), ratio=(0.5, 2.0)):
    """A random crop; boxes (normalised xyxy) are cut to it, mostly-cut ones dropped."""
    begin, size, window = random_crop_window(image, seed, area, ratio, min_covered=0.0)
    y0, x0, y1, x1 = tf.unstack(window[0, 0])
    moved = (boxes - tf.stack([x0, y0, x0, y0])) / tf.stack([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
    cut = tf.clip_by_value(moved, 0.0, 1.0)

    def area_of(b):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    keep = area_of(cut) >= MIN_VISIBLE * area_of(moved)
    return tf.slice(image, begin, size), tf.boolean_mask(cut, keep), tf.boolean_mask(classes, keep)


def random_flip(image, boxes, seed):
    flip = tf.random.stateless_uniform([], seed=seed) < 0.5
    flipped = tf.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], axis=1)
    return tf.cond(flip, lambda: (image[:, ::-1], flipped), lambda: (image, boxes))


def augmented(image, boxes, classes, seed, augment):
    if augment == "crop":
        image, boxes, classes = random_crop(image, boxes, classes, seed)
    if augment in ("crop", "flip"):
        image, boxes = random_flip(image, boxes, seed[::-1])
    return image, boxes, classes


def labels(boxes, classes, size, image_size, max_boxes):
    """(max_boxes, 5) [x1, y1, x2, y2, class] in input pixels of the letterbox of an image of
    `size` (H, W), padded with -1 rows."""
    rows = tf.concat([boxes_to_input(boxes, size, image_size), tf.cast(classes, tf.float32)[:, None]], axis=1)
    rows = rows[:max_boxes]
    return tf.pad(rows, [[0, max_boxes - tf.shape(rows)[0]], [0, 0]], constant_values=-1.0)


def shrunk(split, image_size, cache, training=False, seed=0):
    side = cache_side(image_size)
    return examples(split, lambda x, b, c, i, s: (shrink(x, side), b, c, i, s), cache, training, seed)


def pipeline(split, image_size, batch_size, max_boxes, training=False, seed=0, augment="crop", cache=True):
    """Batches of (float32 images in [0, 255], boxes (N, max_boxes, 5)); training repeats forever.
    cache: decoded images kept in memory, else streamed (`images.examples`)."""
    ds = shrunk(split, image_size, cache, training, seed)
    if training:  # a crop's aspect ratio is its own
        ds = ds.map(
            lambda e, s: augmented(*e[:3], s, augment), num_parallel_calls=tf.data.AUTOTUNE
        ).map(lambda x, b, c: (x, b, c, tf.shape(x)[:2]))
    else:  # the whole image, as evaluation letterboxes it
        ds = ds.map(lambda x, b, c, i, s: (x, b, c, s))
    ds = ds.map(
        lambda x, b, c, s: (letterbox(x, image_size, s), labels(b, c, s, image_size, max_boxes)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)


def evaluation_batches(split, image_size, batch_size, cache=True, count=None):
    """Batches of (float32 images as evaluation sees them, letterboxed; image ids, (height,
    width)): the first `count` images (all by default), unaugmented."""
    ds = shrunk(split, image_size, cache).map(
        lambda x, b, c, i, s: (letterbox(x, image_size, s), i, s), num_parallel_calls=tf.data.AUTOTUNE
    )  # fmt: skip
    return ds.take(count or -1).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def take(split, image_size, count):
    """The first `count` (images, image ids, (height, width)) of a split as numpy."""
    return _first_batch(evaluation_batches(split, image_size, count, cache=False))


def take_labelled(split, image_size, count, max_boxes):
    """The first `count` (images, boxes (N, max_boxes, 5) in input pixels) of a split as numpy:
    the images as `take` gives them."""
    return _first_batch(pipeline(split, image_size, count, max_boxes, cache=False))


def _first_batch(batches):
    for batch in batches.take(1):
        return tuple(t.numpy() for t in batch)
    raise DataError("The split has no images.", "data_dir")
