"""MediaPipe `ImageSegmenter` metadata for a segmenter's `.tflite`, and running it there.

Our segmenters end in a softmax (N, H, W, classes), so the metadata says "no activation":
MediaPipe's confidence masks are then our probabilities and its category mask their
argmax. MediaPipe resizes the masks to the size of the image it was given; an image at
the file's input size gets them at the model's own resolution.
"""

import os

import numpy as np

from keras_resnets.export import mediapipe_base as base

FLOAT_AGREEMENT = 0.99  # MediaPipe's category mask against the Keras argmax, share of pixels, float files
FLOAT_CONFIDENCE = 1e-3  # MediaPipe's confidence masks against the Keras probabilities, float files


def write(path, model_buffer, interpreter, info, labels, reference):
    """(model bytes with the metadata, what was written)."""
    (output,) = interpreter.get_output_details()
    if len(output["shape"]) != 4:
        raise base.MetadataError(
            f"{path} outputs shape {list(output['shape'])}; MediaPipe's ImageSegmenter reads one (1, height, width, "
            "classes) tensor: export the segmenter's per-pixel scores."
        )
    labels = base.labels_for(path, int(output["shape"][-1]), labels)
    _, metadata_writer = base.writers()
    from mediapipe.tasks.python.metadata.metadata_writers import image_segmenter  # after the shim

    writer = base.new_writer(model_buffer, info)
    writer.add_image_input(norm_mean=[0.0], norm_std=[1.0])  # the graph preprocesses RGB [0, 255] itself
    writer.add_custom_metadata(image_segmenter.ImageSegmenterOptionsMd(image_segmenter.Activation.NONE))
    writer.add_segmentation_output(
        metadata_writer.Labels().add(list(labels)) if labels else None, name="probabilities",
        description="Per-pixel softmax probabilities, one channel per class, in the order of the label file.",
    )  # fmt: skip
    return base.populate(writer), {"labels": len(labels) if labels else None, "output": "probabilities"}


def runner(path):
    """images -> [confidence masks (N, H, W, classes), category mask (N, H, W)] at the
    images' size; `run.names`: index -> class name from the file's label file."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), running_mode=vision.RunningMode.IMAGE,
        output_confidence_masks=True, output_category_mask=True,
    )  # fmt: skip
    segmenter = vision.ImageSegmenter.create_from_options(options)
    names = dict(enumerate(segmenter.labels)) if segmenter.labels else {}

    def run(images):
        confidences, categories = [], []
        for image in np.asarray(images):
            pixels = np.ascontiguousarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
            result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
            confidences.append(np.stack([_plane(mask) for mask in result.confidence_masks], axis=-1))
            categories.append(_plane(result.category_mask).astype(np.int32))
        return [np.stack(confidences).astype(np.float32), np.stack(categories)]

    run.names = names
    run.close = segmenter.close
    base.close_before_shutdown(segmenter)
    return run


def _plane(mask):
    """A one-channel MediaPipe image (H, W) or (H, W, 1) as (H, W)."""
    view = mask.numpy_view()
    return view[..., 0] if view.ndim == 3 else view


def check(outputs, reference, litert, quantize, names=None, labels=None):
    """MediaPipe's masks against the Keras model: the category mask equals the Keras argmax
    on at least 99% of pixels and the confidence masks are within 1e-3 of its probabilities
    for float files; for quantized ones the category mask agrees at least as often as
    LiteRT's interpreter measured for the same file. `names` must be `labels` when given."""
    confidence, category = outputs
    (probabilities,) = reference[:1]
    agreement = float(np.mean(category == np.argmax(probabilities, axis=-1)))
    diff = float(np.max(np.abs(confidence - probabilities)))
    least = FLOAT_AGREEMENT if quantize is None else litert.check["top1_agreement"]
    problems = [f"MediaPipe's category mask equals the Keras argmax on {agreement:.2%} of pixels < {least:.2%}"]
    problems = problems if agreement < least else []
    if quantize is None and diff > FLOAT_CONFIDENCE:
        problems.append(f"MediaPipe's confidence masks differ from the Keras probabilities by {diff:.2e} > 1e-3")
    if labels is not None and names != dict(enumerate(labels)):
        problems.append(f"MediaPipe returned names {dict(list(names.items())[:3])}..., not the class names")
    result = {"ok": not problems, "pixel_agreement": agreement, "agreement": "pixel_agreement", "least": least,
              "max_abs_diff": diff,
              "names": bool(names)}  # fmt: skip
    if problems:
        result["error"] = "; ".join(problems)
    return result
