"""Letterboxing: the square input of detectors and segmenters without distorting the photo.

An H x W image is resized, keeping its aspect ratio, so that its longer side is the
model's side S (the shorter one becomes round(S * shorter / longer), at least 1 px), and
padded at the bottom and on the right to S x S: images with 0 (black), masks with the void
label. torchvision also pads at the bottom and right, but its normalised batches, with 0: the
mean colour. Black is kept because a phone or browser app letterboxes a photo before the
exported file sees it, with no knowledge of the model's preprocessing; a converted COCO
detector therefore sees another border than in torchvision. The content starts at the
top-left corner, offset (0, 0), and one scale per axis maps it back:
`boxes_to_original` and `mask_to_original` undo it exactly, from the original (H, W)
and S alone. torchvision's detectors were trained on aspect-kept images too (shorter side
800, longer <= 1333, padded); a square input holds the padding instead of a batch.

The content size is integer arithmetic (round half up), so the TensorFlow pipelines
(`letterbox`) and the NumPy mapping back (`content_size`) agree to the pixel.
"""

import os

import numpy as np
import tensorflow as tf

from keras_resnets.tasks.images import cache_side, decode_file, shrink

IMAGE_FILL = 0


def content_size(height, width, side):
    """(h, w) of an H x W image inside the S x S input (Python ints)."""
    height, width = int(height), int(width)
    longer = max(height, width)
    return tuple(max(1, (2 * n * side + longer) // (2 * longer)) for n in (height, width))


def content_size_tensor(size, side):
    """`content_size` of an (H, W) tensor, as an int32 tensor (for tf.data pipelines)."""
    size = tf.cast(size, tf.int64)
    longer = tf.reduce_max(size)
    return tf.cast(tf.maximum((2 * size * side + longer) // (2 * longer), 1), tf.int32)


def _pad(image, side, fill):
    hw = tf.shape(image)[:2]
    padded = tf.pad(image, [[0, side - hw[0]], [0, side - hw[1]], [0, 0]], constant_values=fill)
    padded.set_shape([side, side, image.shape[-1]])
    return padded


def letterbox(image, side, size=None):
    """float32 RGB [0, 255] (S, S, 3): `image` resized into `content_size` and padded with 0.

    `size` is the (H, W) whose aspect ratio decides the content size: by default the
    image's own; the evaluation pipelines pass the original photo's, since they resize a
    shrunk copy of it and map predictions back to the original's pixels.
    """
    hw = content_size_tensor(tf.shape(image)[:2] if size is None else size, side)
    resized = tf.image.resize(tf.cast(image, tf.float32), hw, antialias=True)
    return _pad(resized, side, tf.constant(IMAGE_FILL, tf.float32))


def letterbox_mask(mask, side, fill, size=None):
    """A (H, W, 1) uint8 class map, letterboxed as its image is: nearest neighbour (no new
    class values), padded with `fill` (the void label, which losses and metrics ignore)."""
    hw = content_size_tensor(tf.shape(mask)[:2] if size is None else size, side)
    resized = tf.cast(tf.image.resize(mask, hw, method="nearest"), tf.uint8)
    return _pad(resized, side, tf.constant(fill, tf.uint8))


def boxes_to_input(boxes, size, side):
    """Boxes normalised to an image (xyxy in [0, 1]) in input pixels of its letterbox."""
    hw = tf.cast(content_size_tensor(size, side), tf.float32)
    return boxes * tf.stack([hw[1], hw[0], hw[1], hw[0]])


def boxes_to_original(boxes, height, width, side):
    """(K, 4) [x1, y1, x2, y2] in input pixels -> the H x W original's pixels, clipped to it."""
    content_h, content_w = content_size(height, width, side)
    scale = np.array([width / content_w, height / content_h] * 2, np.float64)
    mapped = np.asarray(boxes, np.float64).reshape(-1, 4) * scale
    return np.clip(mapped, 0.0, [width, height, width, height])


def mask_to_original(labels, height, width):
    """An (S, S) class map of a letterbox -> (H, W): the content cropped, then resized by
    nearest neighbour (each original pixel takes the class of the input pixel it falls in)."""
    side = labels.shape[0]
    content_h, content_w = content_size(height, width, side)
    rows = np.minimum(((np.arange(height) + 0.5) * content_h / height).astype(np.int64), content_h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * content_w / width).astype(np.int64), content_w - 1)
    return np.asarray(labels)[rows[:, None], cols[None, :]]


def load_image(path, side):
    """(one file as a detector's or segmenter's input, float32 (S, S, 3); its (H, W)),
    exactly as evaluation sees it: shrunk once as the pipelines cache it, then letterboxed."""
    image = decode_file(tf.constant(os.fspath(path)))
    size = tf.shape(image)[:2]
    return letterbox(shrink(image, cache_side(side)), side, size), tuple(int(n) for n in size.numpy())
