"""TFLite metadata that MediaPipe Tasks reads, and running a `.tflite` through MediaPipe.

MediaPipe's task APIs (Android, iOS, web, Python: one C++ engine) take a `.tflite` only
with metadata: how to normalize the input image, what the outputs are, the label file. It
is written with MediaPipe's own writers (`mediapipe.tasks.python.metadata.
metadata_writers`), one module per task (`mediapipe_<task>`) listed in `TASKS`:
`write(path, task, info)` rewrites the file in place. Our graphs hold their preprocessing
and take RGB [0, 255] (uint8 pixels for full int8), so the normalization written is mean 0
/ std 1, the identity; a graph that takes preprocessed input gets no metadata (MediaPipe
would feed it raw pixels).

`mediapipe_runner(path, task)` runs a file in MediaPipe as `runners` run files elsewhere:
a callable images -> list of outputs (classification: scores (N, classes), by index).
`mediapipe_base` holds what the task modules share.
"""

import dataclasses
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from keras_resnets.export import mediapipe_classification, mediapipe_detection
from keras_resnets.export.mediapipe_base import (  # noqa: F401 (the public names of this module)
    INSTALL, MetadataError, ModelInfo, check_labels, require_mediapipe, shim,
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TaskMetadata:
    """How one task's metadata is written and its files run in MediaPipe."""

    # (path, model bytes, LiteRT interpreter, ModelInfo, labels, reference outputs) -> (model bytes, record)
    write: Optional[Callable]
    run: Optional[Callable]  # (path) -> images -> list of outputs
    # (MediaPipe's outputs, the Keras model's, LiteRT's check row, quantize, names, labels) -> {"ok", ...}
    check: Optional[Callable] = None
    missing: str = ""  # why there is no writer yet
    # Export code, for a task whose files MediaPipe reads in another form than the Keras model's:
    adapt: Optional[Callable] = None  # (model) -> the model the file with metadata is written from
    keras_outputs: Optional[Callable] = None  # (path, LiteRT runner of that file) -> runner of the Keras outputs
    classes: Optional[Callable] = None  # (model) -> how many class names its label file holds


def _not_yet(task):
    return (
        f"MediaPipe metadata for {task} models is not written yet (only classification and detection are): export with "
        "tflite_metadata=False (apps: --no-tflite-metadata) for a file LiteRT runs without metadata."
    )


TASKS = {
    "classification": TaskMetadata(
        mediapipe_classification.write, mediapipe_classification.runner, mediapipe_classification.check
    ),
    "detection": TaskMetadata(
        mediapipe_detection.write, mediapipe_detection.runner, mediapipe_detection.check,
        adapt=mediapipe_detection.adapt, keras_outputs=mediapipe_detection.keras_outputs,
        classes=mediapipe_detection.classes,
    ),
    "segmentation": TaskMetadata(None, None, missing=_not_yet("segmentation")),
}


def _entry(task, needs):
    entry = TASKS.get(task)
    if entry is None or getattr(entry, needs) is None:
        raise MetadataError(entry.missing if entry else f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    return entry


def write(path, task, info, labels=None, reference=None):
    """Rewrites the `.tflite` at `path` with `task`'s MediaPipe metadata; returns what was
    written ({"task", ...the task's record}). `reference`: the Keras model's outputs on
    real images, from which a task reads what its outputs are."""
    entry = _entry(task, "write")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    (image,) = interpreter.get_input_details()
    if image["dtype"] not in (np.float32, np.uint8) or (image["dtype"] == np.uint8 and image["quantization"][0]):
        raise MetadataError(
            f"{path} takes {np.dtype(image['dtype']).name} input with quantization {image['quantization']}; "
            "MediaPipe feeds RGB pixels: export with the preprocessing inside (include_preprocessing), so the "
            "file takes float32 or raw uint8 pixels, or with tflite_metadata=False."
        )
    content, record = entry.write(Path(path), bytearray(Path(path).read_bytes()), interpreter, info, labels, reference)
    Path(path).write_bytes(content)
    return {"task": task, **record}


def read(path):
    """The metadata of a `.tflite` as JSON text, or None when it has none."""
    shim()
    from mediapipe.tasks.python.metadata import metadata

    displayer = metadata.MetadataDisplayer  # raises ValueError on a file without metadata
    try:
        return displayer.with_model_file(os.fspath(path)).get_metadata_json()
    except ValueError:
        return None


def mediapipe_runner(path, task="classification"):
    """A callable RGB [0, 255] images (N, side, side, 3), at the file's input size ->
    list of outputs, running the `.tflite` at `path` through MediaPipe Tasks (classification:
    [scores (N, classes)], by class index; detection: the Keras model's four outputs, see
    `mediapipe_detection.runner`; `run.names` maps indices to the names MediaPipe returned). MediaPipe resizes other sizes itself (see the README, "On a phone")."""
    entry = _entry(task, "run")
    require_mediapipe()
    return entry.run(Path(path))
