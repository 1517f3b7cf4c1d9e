"""Image-classification data as `tf.data` pipelines: local folders and tensorflow-datasets.

Specific to classification (one label per image, class folders); sources, splits, the
split rule and tensorflow-datasets are shared with the other image tasks in `data`, and
how files become model inputs in `images`.

A local folder is `<root>/<class>/<image>` (see `images` for the formats). Every
file is test-decoded once with Pillow (at reduced JPEG scale, so it is fast); unreadable
files are skipped and listed. A `splits.csv` (columns `file,class,split` with split one of
train/val/test) beside the class folders fixes the split; otherwise each class is split
by the seeded 70/15/15 rule (`data.split_group`, the rule that made
`flowers-full/splits.csv`, so both agree).

Pipelines decode each image, shrink it (`images.shrink`), cache that in memory when it
fits (else decode it again every epoch: `image_cache`), and then crop/resize per epoch.
Images leave the pipeline as float32 RGB in [0, 255]; the model's own preprocessing layer
does the rest, so the same files feed `.keras`, SavedModel and TFLite alike.

The pipeline is TensorFlow code under every Keras backend (tf.data runs TF ops).
"""

import csv
import logging
import os
from pathlib import Path

import tensorflow as tf

from keras_resnets.tasks.data import (
    SPLITS, Source, Split, check_all, make_splits, prepared_builder, split_group, tfds_records, tfds_source,
)  # fmt: skip
from keras_resnets.tasks.images import (
    IMAGE_EXTENSIONS,
    cache_side,
    check_image,
    decode_bytes,
    decode_file,
    examples,
    random_crop_window,
    resize_eval,
    shrink,
)
from keras_resnets.tasks.options import CLASSIFICATION_AUGMENTATIONS
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)

TFDS_ALIASES = {"flowers": "tf_flowers"}


# ---------------------------------------------------------------- local folders


def scan_folder(root):
    """Lists `<root>/<class>/...` images; returns (class_names, {class: [relative paths]}, skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder.", "data_dir")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        raise DataError(
            f"{root} has {len(class_dirs)} class folder(s) "
            f"({', '.join(d.name for d in class_dirs) or 'none'}); a classifier needs at least "
            f"two. Expected layout: {root}/<class name>/<image file>.",
            "data_dir",
        )
    candidates, ignored = {}, 0
    for d in class_dirs:
        files = sorted(p for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))
        candidates[d.name] = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
        ignored += len(files) - len(candidates[d.name])
    if ignored:
        log.info("Ignored %d files without an image extension %s.", ignored, IMAGE_EXTENSIONS)
    empty = [name for name, files in candidates.items() if not files]
    if empty:
        raise DataError(
            f"Class folder(s) with no images in {root}: {', '.join(empty)}. Add images "
            f"({', '.join(IMAGE_EXTENSIONS)}) or remove the folder(s)."
        )
    all_files = [p for files in candidates.values() for p in files]
    problems = dict(zip(all_files, check_all(check_image, all_files)))
    skipped = [(str(p), why) for p, why in problems.items() if why]
    for path, why in skipped:
        log.warning("Skipping unreadable image %s (%s)", path, why)
    files = {
        name: [p.relative_to(root).as_posix() for p in paths if not problems[p]]
        for name, paths in candidates.items()
    }
    empty = [name for name, paths in files.items() if not paths]
    if empty:
        raise DataError(
            f"Class folder(s) in {root} with no readable image: {', '.join(empty)} "
            f"({len(skipped)} unreadable files skipped, listed above)."
        )
    return [d.name for d in class_dirs], files, skipped


def split_by_rule(files):
    """The documented seeded 70/15/15 split (`data.split_group`) of each class of
    `{class: [paths]}`: {split: [(path, class)]}."""
    out = {s: [] for s in SPLITS}
    for name, paths in files.items():
        for split, chosen in split_group(paths).items():
            out[split] += [(p, name) for p in chosen]
    return out


def split_by_csv(csv_path, files):
    """Reads `splits.csv` (file,class,split); files it lists that were skipped are dropped."""
    readable = {p for paths in files.values() for p in paths}
    out = {s: [] for s in SPLITS}
    listed = set()
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"file", "class", "split"} <= set(reader.fieldnames):
            raise DataError(f"{csv_path} must have the columns file,class,split.")
        for line, row in enumerate(reader, start=2):
            split = {"validation": "val"}.get(row["split"], row["split"])
            if split not in SPLITS:
                raise DataError(
                    f"{csv_path} line {line}: split {row['split']!r} is not one of {SPLITS}."
                )
            path = Path(row["file"]).as_posix()
            if path.split("/")[0] != row["class"]:
                raise DataError(
                    f"{csv_path} line {line}: {path} is not in the folder of its class "
                    f"{row['class']!r}."
                )
            listed.add(path)
            if path in readable:
                out[split].append((path, row["class"]))
    missing = listed - readable
    if missing:
        log.warning("%d files in %s are missing or unreadable; left out.", len(missing), csv_path)
    unlisted = readable - listed
    if unlisted:
        log.warning("%d images are not in %s and are not used.", len(unlisted), csv_path)
    return out


def load_folder(root):
    class_names, files, skipped = scan_folder(root)
    csv_path = Path(root) / "splits.csv"
    if csv_path.exists():
        rows, rule = split_by_csv(csv_path, files), f"{csv_path}"
    else:
        rows = split_by_rule(files)
        rule = "seeded per-class 70/15/15 (random.Random(1234) on sorted paths)"
    index = {name: i for i, name in enumerate(class_names)}

    def split_of(items):
        paths = [os.path.join(os.fspath(root), p) for p, _ in items]
        labels = [index[c] for _, c in items]
        ds = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
        return Split(ds, len(items), decode=lambda p, y: (decode_file(p), y))

    splits = make_splits(rows, split_of, lambda split: (
        f"The {split} split of {root} is empty; each class needs a few images in every split (train/val/test)."
    ))  # fmt: skip
    return Source(Path(root).resolve().name, class_names, splits, rule, skipped)


# ------------------------------------------------------------ tensorflow-datasets


def load_tfds(name, data_dir=None):
    name = TFDS_ALIASES.get(name, name)
    builder = prepared_builder(name, data_dir)
    info = builder.info
    if not info.supervised_keys:
        raise DataError(
            f"{name} has no (image, label) supervised keys; it is not a classifier set.", "dataset"
        )
    image_key, label_key = info.supervised_keys[:2]
    label_feature = info.features[label_key]
    if not hasattr(label_feature, "names"):
        raise DataError(f"{name}'s label {label_key!r} is not a class label.", "dataset")

    def split_of(expression):
        # Records keep the file's encoded image (`tfds_records`), decoded as an example is made.
        ds = builder.as_dataset(split=expression, as_supervised=True, decoders=tfds_records(image_key))
        count = int(ds.cardinality())  # tfds datasets know their size
        ds = ds.map(lambda encoded, label: (encoded, tf.cast(label, tf.int32)))
        return Split(ds, count if count >= 0 else int(info.splits[expression].num_examples),
                     decode=lambda encoded, label: (decode_bytes(encoded), label))  # fmt: skip

    return tfds_source(name, builder, label_feature.names, split_of)


# ---------------------------------------------------------------------- pipelines


def random_resized_crop(image, image_size, seed, area=(0.25, 1.0), ratio=(3 / 4, 4 / 3)):
    begin, size, _ = random_crop_window(image, seed, area, ratio)
    crop = tf.slice(image, begin, size)
    crop = tf.image.stateless_random_flip_left_right(crop, seed=seed[::-1])
    return resize_eval(crop, image_size)


def pipeline(
    split,
    num_classes,
    image_size,
    batch_size,
    training=False,
    seed=0,
    augment=None,
    cache=True,
):
    """Batches of (float32 images in [0, 255], one-hot labels); training repeats forever.
    cache: decoded images kept in memory, else streamed (`images.examples`)."""
    side = cache_side(image_size)
    ds = examples(split, lambda x, y: (shrink(x, side), y), cache, training, seed)
    if training:
        ds = ds.map(
            lambda xy, s: (random_resized_crop(xy[0], image_size, s), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(lambda x, y: (resize_eval(x, image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
    ds = ds.batch(batch_size, drop_remainder=training)
    if training and augment:
        ds = ds.map(augmenter(augment, seed), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


AUGMENTATIONS = CLASSIFICATION_AUGMENTATIONS


def augmenter(kind, seed):
    """A batch-level keras-cv augmentation for `tf.data.map` (imported only when asked for)."""
    try:
        import keras_cv
    except Exception as exc:  # keras-cv fails differently per backend and version
        import keras

        raise DataError(
            f"augment {kind!r} uses keras-cv, which does not import under "
            f"KERAS_BACKEND={keras.backend.backend()} ({type(exc).__name__}: {exc}).",
            "augment",
        ) from exc
    if kind == "randaugment":
        layer = keras_cv.layers.RandAugment(
            value_range=(0, 255), augmentations_per_image=2, magnitude=0.5, seed=seed
        )
        return lambda images, labels: (layer(images, training=True), labels)
    layers = {"mixup": keras_cv.layers.MixUp, "cutmix": keras_cv.layers.CutMix}
    if kind not in layers:
        raise DataError(f"Unknown augment {kind!r}; use one of {AUGMENTATIONS}.", "augment")
    layer = layers[kind](seed=seed)

    def mix(images, labels):
        out = layer({"images": images, "labels": labels}, training=True)
        return out["images"], out["labels"]

    return mix


def take_images(split, image_size, count):
    """Up to `count` real images (and labels) of a split as numpy, as the test pipeline sees them."""
    batches = pipeline(split, 1, image_size, batch_size=count, cache=False)
    for images, _ in batches.take(1):
        return images.numpy()
    raise DataError("The split has no images.")

