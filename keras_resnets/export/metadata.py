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
a callable images -> list of outputs (classification: scores (N, classes), by index; segmentation: confidence
masks (N, H, W, classes) and category mask (N, H, W)).
`mediapipe_base` holds what the task modules share.
"""

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from keras_resnets.export import mediapipe_classification, mediapipe_detection, mediapipe_segmentation
from keras_resnets.export.mediapipe_base import (  # noqa: F401 (the public names of this module)
    INSTALL, MetadataError, ModelInfo, SameFile, check_labels, require_mediapipe, shim,
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TaskMetadata:
    """How one task's metadata is written and its files run in MediaPipe."""

    # (path, model bytes, LiteRT interpreter, ModelInfo, labels, reference outputs) -> (model bytes, record)
    write: Callable
    run: Callable  # (path) -> images -> list of outputs
    # (MediaPipe's outputs, the Keras model's, `SameFile` (LiteRT's run of the file), quantize, names, labels)
    # -> {"ok", ...}
    check: Callable
    # Export code, for a task whose files MediaPipe reads in another form than the Keras model's:
    adapt: Optional[Callable] = None  # (model) -> the model the file with metadata is written from
    keras_outputs: Optional[Callable] = None  # (path, LiteRT runner of that file) -> runner of the Keras outputs
    classes: Optional[Callable] = None  # (model) -> how many class names its label file holds


TASKS = {
    "classification": TaskMetadata(
        mediapipe_classification.write, mediapipe_classification.runner, mediapipe_classification.check
    ),
    "detection": TaskMetadata(
        mediapipe_detection.write, mediapipe_detection.runner, mediapipe_detection.check,
        adapt=mediapipe_detection.adapt, keras_outputs=mediapipe_detection.keras_outputs,
        classes=mediapipe_detection.classes,
    ),
    "segmentation": TaskMetadata(
        mediapipe_segmentation.write, mediapipe_segmentation.runner, mediapipe_segmentation.check
    ),
}


def _entry(task):
    if task not in TASKS:
        raise MetadataError(f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    return TASKS[task]


def write(path, task, info, labels=None, reference=None):
    """Rewrites the `.tflite` at `path` with `task`'s MediaPipe metadata; returns what was
    written ({"task", ...the task's record}). `reference`: the Keras model's outputs on
    real images, from which a task reads what its outputs are."""
    entry = _entry(task)
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


def task_of(path):
    """The task whose MediaPipe metadata the `.tflite` at `path` carries: "segmentation"
    (MediaPipe's segmenter options), "detection" (four outputs: boxes, classes, scores,
    count) or "classification"."""
    content = read(path)
    if content is None:
        raise MetadataError(
            f"{path} has no MediaPipe metadata, so MediaPipe Tasks cannot run it: export it with metadata (the "
            "default; drop --no-tflite-metadata / tflite_metadata=False)."
        )
    (graph,) = json.loads(content)["subgraph_metadata"]
    if any(entry.get("name") == "SEGMENTER_METADATA" for entry in graph.get("custom_metadata", [])):
        return "segmentation"
    return "detection" if len(graph.get("output_tensor_metadata", [])) == 4 else "classification"


def mediapipe_runner(path, task="classification"):
    """A callable RGB [0, 255] images (N, side, side, 3), at the file's input size ->
    list of outputs, running the `.tflite` at `path` through MediaPipe Tasks (classification:
    [scores (N, classes)], by class index; segmentation: [confidence masks, category mask];
    detection: the Keras model's four outputs, see `mediapipe_detection.runner`; `run.names`
    maps indices to the class names the file carries). MediaPipe resizes other sizes itself
    (see the README, "On a phone")."""
    entry = _entry(task)
    require_mediapipe()
    return entry.run(Path(path))
