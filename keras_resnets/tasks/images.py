"""Image files as model inputs, shared by every image task and by `apps/predict.py`.

Files are JPEG, PNG, BMP or GIF; grayscale, palette, RGBA, 16-bit and CMYK files become
8-bit RGB (`tf.io.decode_image`). Images are shrunk once so that their shorter side is
at most `cache_side(image_size)` (what the training pipelines cache), then resized to the
square input (classification squashes, `resize_eval`; detection and segmentation keep the
aspect ratio and pad, `tasks.letterbox`); they leave as float32 RGB in [0, 255], since task models hold their own
preprocessing layer and exported files must see the same numbers.
"""

import os

import tensorflow as tf

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
DECODABLE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "MPO")  # MPO: multi-picture JPEG


def check_image(path):
    """None when `path` decodes as an image TensorFlow can read, else the reason."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.format not in DECODABLE_FORMATS:
                return f"{image.format} files are not supported (use JPEG, PNG, BMP or GIF)"
            # JPEG decodes at 1/8 scale with draft(): a full check at a fraction of the cost.
            image.draft("RGB", (64, 64))
            image.load()
    except Exception as exc:  # Pillow raises many types for broken files
        return f"{type(exc).__name__}: {exc}"
    return None


def decode_file(path):
    return decode_bytes(tf.io.read_file(path))


def decode_bytes(encoded, channels=3):
    """An encoded image (JPEG, PNG, ...) as uint8 (H, W, channels): RGB, or one channel (a mask)."""
    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image.set_shape([None, None, channels])
    return image


def cache_side(image_size):
    """Shorter side of cached images: a margin above the crop size keeps detail for crops."""
    return int(round(image_size * 1.15))


def shrink(image, side):
    """Downscales (never upscales) so the shorter side is at most `side`, keeping aspect."""
    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.minimum(1.0, side / tf.reduce_min(hw))
    size = tf.cast(tf.round(hw * scale), tf.int32)
    shrunk = tf.image.resize(image, size, method="area")
    return tf.cast(tf.round(shrunk), tf.uint8)


def training_stream(ds, count, seed, then=None, buffer=20000):
    """`ds` shuffled and repeated forever (each element then mapped by `then`, when given),
    each example paired with a stateless seed of its own, so that its augmentation is the
    same on every rerun with the same `seed`.

    Every iterator of the stream yields the same examples: the shuffle is made anew inside
    each one (a shuffle made once moves on with every new iterator). Keras makes several (it
    reads a batch to build the model, then starts again), and how many depends on the
    distribution: one process must see what several processes see between them.
    """

    def passes(_):
        shuffled = ds.shuffle(min(count, buffer), seed=seed).repeat()
        return shuffled.map(then, num_parallel_calls=tf.data.AUTOTUNE) if then else shuffled

    shuffled = tf.data.Dataset.range(1).flat_map(passes)
    return tf.data.Dataset.zip((shuffled, tf.data.Dataset.random(seed=seed).batch(2)))


def examples(split, prepare, cache, training=False, seed=0):
    """A split's examples, each decoded (`split.decode`) and then `prepare`d (shrunk).

    cache: decoded once, kept in memory, and shuffled from there; else decoded again in
    every epoch (in parallel), the shuffle moving the split's records (file names) rather
    than pixels, so that memory stays flat (`image_cache`). A shuffle's order depends only
    on its seed and size, so both give the same examples in the same order, and the same
    augmentation seeds. training: shuffled, endless, paired with seeds (`training_stream`).
    """
    decode = split.decode or (lambda *record: record)

    def made(*record):
        return prepare(*decode(*record))

    if cache:
        ds = split.dataset.map(made, num_parallel_calls=tf.data.AUTOTUNE).cache()
        return training_stream(ds, split.count, seed) if training else ds
    if training:
        return training_stream(split.dataset, split.count, seed, then=made)
    return split.dataset.map(made, num_parallel_calls=tf.data.AUTOTUNE)


def random_crop_window(image, seed, area, ratio, min_covered=0.1):
    """(begin, size, normalised yxyx window) of a random crop of `image` covering an `area`
    fraction of it at an aspect `ratio` in the given ranges; stateless in `seed`."""
    return tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4]), seed=seed, area_range=area,
        aspect_ratio_range=ratio, min_object_covered=min_covered, use_image_if_no_bounding_boxes=True,
    )  # fmt: skip


def resize_eval(image, image_size):
    """The whole image, squashed to a square: what classification's evaluation, exports and
    predict.py see (detection and segmentation letterbox instead: `tasks.letterbox`)."""
    return tf.image.resize(tf.cast(image, tf.float32), (image_size, image_size), antialias=True)


def load_image(path, image_size):
    """One file as a classifier's input (float32 RGB [0, 255]), exactly as evaluation sees it."""
    image = decode_file(tf.constant(os.fspath(path)))
    return resize_eval(shrink(image, cache_side(image_size)), image_size)
