"""Semantic-segmentation data as `tf.data` pipelines: a local folder, or tensorflow-datasets.

A local folder holds `images/<name>.<jpg|png|...>`, `masks/<name>.png` and `classes.txt`
(one class name per line, in index order). A mask is a single-channel PNG (mode "L", or a
palette PNG whose indices are the classes, as PASCAL VOC ships them) of the image's size,
whose pixels are class indices 0..N-1 or 255 (void: ignored by the loss and the metrics).

Every pair is checked once before training (Pillow): a missing or unreadable mask, a
mask whose size differs from its image, a multi-channel mask or a class index out of range
is an error that names the file, or, with `skip_bad`, the pair is left out and listed.
Nothing can then fail mid-epoch. The split is the seeded 70/15/15 rule on all image names
(`data.split_group`).

Pipelines decode each pair once, shrink it as classification does (the image by area,
the mask by nearest neighbour to the same size), cache it when it fits (else decode it
again every epoch: `image_cache`), and then augment image and mask together: the same random crop and flip, letterboxed into the square input
(`letterbox`: aspect kept, longer side S, padded bottom/right; bilinear for the image,
nearest for the mask, so no new class values appear, and the mask's padding void). Crops
vary in aspect (3/4 to 4/3) and are letterboxed rather than squashed, as evaluation and
prediction see photos. Evaluation letterboxes the whole image and mask: metrics are
computed at that resolution, the padding (void) left out.
Batches are (float32 RGB [0, 255] images (N, S, S, 3), int32 class maps (N, S, S)).
"""

import logging
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_resnets.metrics.segmentation import VOID
from keras_resnets.tasks.data import (
    CLASSES_FILE, NAMES_RULE, Source, Split, check_all, list_images, make_splits, prepared_builder,
    read_class_names, refuse_or_skip, split_group, tfds_records, tfds_source,
)  # fmt: skip
from keras_resnets.tasks.images import (
    cache_side, check_image, decode_bytes, decode_file, examples, random_crop_window, shrink,
)  # fmt: skip
from keras_resnets.tasks.letterbox import letterbox, letterbox_mask
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)

MASK_MODES = ("L", "P")  # single channel: grey levels or palette indices


# ---------------------------------------------------------------- local folders


def read_classes(root):
    names = read_class_names(root)
    if not 2 <= len(names) <= VOID:
        raise DataError(f"{Path(root) / CLASSES_FILE} lists {len(names)} classes; a segmenter needs 2 to {VOID}.",
                        "data_dir")  # fmt: skip
    return names


def check_pair(image, mask, num_classes):
    """None when `image` and its `mask` are usable, else what is wrong with them."""
    from PIL import Image

    if not mask.exists():
        return f"no mask {mask} for {image}"
    problem = check_image(image)
    if problem:
        return f"{image}: {problem}"
    try:
        with Image.open(mask) as m:
            if m.mode not in MASK_MODES:
                return f"{mask} is a {m.mode} image; a mask is single-channel (mode L or P) class indices"
            labels = np.asarray(m)
        with Image.open(image) as i:
            image_size = i.size
    except Exception as exc:  # Pillow raises many types for broken files
        return f"{mask}: {type(exc).__name__}: {exc}"
    if (labels.shape[1], labels.shape[0]) != image_size:
        return (
            f"{mask} is {labels.shape[1]}x{labels.shape[0]} but its image {image} is "
            f"{image_size[0]}x{image_size[1]}; a mask must match its image pixel for pixel"
        )
    values = np.unique(labels)
    bad = values[(values >= num_classes) & (values != VOID)]
    if bad.size:
        return (
            f"{mask} holds class index(es) {bad.tolist()}, but {CLASSES_FILE} lists "
            f"{num_classes} classes (0..{num_classes - 1}; {VOID} = void)"
        )
    return None


def scan_folder(root, skip_bad=False):
    """(class names, [(image path, mask path)], skipped [(file, reason)]) of a folder."""
    root = Path(root)
    if not (root / "images").is_dir() or not (root / "masks").is_dir():
        raise DataError(
            f"{root} must hold images/ and masks/ folders and {CLASSES_FILE} "
            "(images/<name>.jpg, masks/<name>.png with class indices, 255 = void).",
            "data_dir",
        )
    class_names = read_classes(root)
    pairs = [(image, root / "masks" / f"{image.stem}.png") for image in list_images(root / "images")]
    problems = check_all(lambda pair: check_pair(*pair, len(class_names)), pairs)
    bad = [(str(pair[0]), why) for pair, why in zip(pairs, problems) if why]
    heading = f"{len(bad)} of {len(pairs)} image/mask pairs in {root} are unusable"
    refuse_or_skip([why for _, why in bad], skip_bad, heading)  # each reason names its files
    good = [pair for pair, why in zip(pairs, problems) if not why]
    if not good:
        raise DataError(f"{root}/images holds no usable image with a mask.", "data_dir")
    return class_names, good, bad


def decode_mask(path):
    """The class indices of a mask PNG as (H, W, 1) uint8; Pillow keeps palette indices,
    where TensorFlow's decoder would turn them into colours."""

    def read(p):
        from PIL import Image

        with Image.open(p.decode()) as mask:
            return np.asarray(mask, dtype=np.uint8)[..., None]

    mask = tf.numpy_function(read, [path], tf.uint8, stateful=False)
    mask.set_shape([None, None, 1])
    return mask


def load_folder(root, skip_bad=False):
    class_names, pairs, skipped = scan_folder(root, skip_bad)
    by_name = {image.name: (image, mask) for image, mask in pairs}

    def split_of(names):
        chosen = [by_name[name] for name in names]
        ds = tf.data.Dataset.from_tensor_slices(([str(i) for i, _ in chosen], [str(m) for _, m in chosen]))
        return Split(ds, len(chosen), decode=lambda i, m: (decode_file(i), decode_mask(m)))

    splits = make_splits(split_group(by_name), split_of, lambda split: (
        f"The {split} split of {root} is empty: it needs at least 7 usable pairs."
    ))  # fmt: skip
    return Source(Path(root).resolve().name, class_names, splits, NAMES_RULE, skipped)


# ------------------------------------------------------------ tensorflow-datasets

# tfds sets with a per-pixel mask: (image key, mask key, class names, value of class 0).
TFDS_SETS = {
    # The trimap: 1 pet, 2 background, 3 the uncertain border.
    "oxford_iiit_pet": ("image", "segmentation_mask", ["pet", "background", "border"], 1),
}


def load_tfds(name, data_dir=None):
    if name not in TFDS_SETS:
        raise DataError(
            f"{name!r} is not a tensorflow-datasets segmentation set this task reads; use one of "
            f"{sorted(TFDS_SETS)}.",
            "dataset",
        )
    builder = prepared_builder(name, data_dir)
    image_key, mask_key, class_names, first = TFDS_SETS[name]

    def pair(encoded_image, encoded_mask):
        mask = tf.cast(decode_bytes(encoded_mask, channels=1), tf.int32) - first
        return decode_bytes(encoded_image), tf.cast(mask, tf.uint8)

    def split_of(expression):
        # Records keep the files' encoded image and mask (`tfds_records`), decoded as an example is made.
        ds = builder.as_dataset(split=expression, decoders=tfds_records(image_key, mask_key))
        records = ds.map(lambda example: (example[image_key], example[mask_key]))
        return Split(records, int(ds.cardinality()), decode=pair)

    return tfds_source(name, builder, class_names, split_of)


# ---------------------------------------------------------------------- pipelines


def resize_mask(mask, size):
    """Nearest neighbour: every output pixel is one of the input's class values."""
    return tf.cast(tf.image.resize(mask, size, method="nearest"), tf.uint8)


def shrink_pair(image, mask, side):
    image = shrink(image, side)
    return image, resize_mask(mask, tf.shape(image)[:2])


def random_crop_flip(image, mask, image_size, seed, area=(0.25, 1.0), ratio=(3 / 4, 4 / 3)):
    """The same random crop and horizontal flip of image and mask, letterboxed."""
    begin, size, _ = random_crop_window(image, seed, area, ratio)
    image = tf.slice(image, begin, size)
    mask = tf.slice(mask, begin, tf.concat([size[:2], [1]], 0))
    flip = tf.random.stateless_uniform([], seed=seed[::-1]) < 0.5
    image, mask = tf.cond(flip, lambda: (image[:, ::-1], mask[:, ::-1]), lambda: (image, mask))
    return whole(image, mask, image_size)


def whole(image, mask, image_size):
    """Image and mask letterboxed; the mask's padding is void."""
    return letterbox(image, image_size), letterbox_mask(mask, image_size, VOID)


def pipeline(split, image_size, batch_size, training=False, seed=0, cache=True):
    """Batches of (float32 images in [0, 255], int32 class maps); training repeats forever.
    cache: decoded pairs kept in memory, else streamed (`images.examples`)."""
    side = cache_side(image_size)
    ds = examples(split, lambda x, y: shrink_pair(x, y, side), cache, training, seed)
    if training:
        ds = ds.map(
            lambda pair, s: random_crop_flip(*pair, image_size, s), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        ds = ds.map(lambda x, y: whole(x, y, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (x, tf.cast(y[..., 0], tf.int32)))
    return ds.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)


def take(split, image_size, count):
    """The first `count` (images, class maps) of a split as numpy, as evaluation sees them."""
    for images, masks in pipeline(split, image_size, batch_size=count, cache=False).take(1):
        return images.numpy(), masks.numpy()
    raise DataError("The split has no images.", "data_dir")
