"""TFLite metadata that MediaPipe Tasks reads, and running a `.tflite` through MediaPipe.

MediaPipe's task APIs (Android, iOS, web, Python: one C++ engine) take a `.tflite` only
with metadata: how to normalize the input image, what the outputs are, the label file. It
is written here with MediaPipe's own writers (`mediapipe.tasks.python.metadata.
metadata_writers`), one entry of `TASKS` per task: `write(path, task, info)` rewrites the
file in place. Our graphs hold their preprocessing and take RGB [0, 255] (uint8 pixels for
full int8), so the normalization written is mean 0 / std 1, the identity; a graph that
takes preprocessed input gets no metadata (MediaPipe would feed it raw pixels).

`mediapipe_runner(path, task)` runs a file in MediaPipe as `runners` run files elsewhere:
a callable images -> list of outputs (classification: scores (N, classes), by index).

MediaPipe 1.2.2's wheel lacks the compiled `_pywrap_metadata_version` that its metadata
populator imports for one call (the oldest metadata parser that reads a buffer); `_shim`
provides it from the schema's own version table for the members our writers use.
"""

import dataclasses
import os
import sys
import threading
import types
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from keras_resnets.export.formats import LABELS_FILE

INSTALL = "pip install mediapipe==1.2.2"


class MetadataError(ValueError):
    """Metadata cannot be written correctly for this model (the message says what to do)."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the metadata says about the model (name, description, version, license)."""

    name: str
    description: str = ""
    version: str = ""
    license: str = ""
    author: str = "keras_resnets"


def _shim():
    """Registers MediaPipe's missing `_pywrap_metadata_version` (see the module docstring)."""
    name = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
    if name in sys.modules:
        return
    try:
        import importlib

        importlib.import_module(name)
        return
    except ImportError:
        pass
    module = types.ModuleType(name)
    module.GetMinimumMetadataParserVersion = _minimum_parser_version
    for parent in ("mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"):
        sys.modules.setdefault(parent, types.ModuleType(parent))
    sys.modules[name] = module


def _minimum_parser_version(buffer):
    """The oldest metadata parser version that reads `buffer` (metadata_schema.fbs's
    version notes): 1.0.0 unless it uses a member added later; a member this does not know
    is refused rather than under-reported."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    metadata = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(bytes(buffer), 0))
    versions = ["1.0.0"]
    files = list(metadata.associatedFiles or [])
    for graph in metadata.subgraphMetadata or []:
        files += graph.associatedFiles or []
        if graph.inputProcessUnits or graph.outputProcessUnits:
            versions.append("1.1.0")
        if graph.inputTensorGroups or graph.outputTensorGroups:
            versions.append("1.2.0")
        if getattr(graph, "customMetadata", None):
            versions.append("1.5.0")
        for tensor in (graph.inputTensorMetadata or []) + (graph.outputTensorMetadata or []):
            files += tensor.associatedFiles or []
            if tensor.content and tensor.content.contentPropertiesType not in (
                fb.ContentProperties.NONE, fb.ContentProperties.FeatureProperties, fb.ContentProperties.ImageProperties,
            ):  # fmt: skip
                raise NotImplementedError("metadata with audio or bounding-box content: extend _minimum_parser_version")
    for file in files:
        if file.type == fb.AssociatedFileType.VOCABULARY:
            versions.append("1.0.1")
        if file.type == fb.AssociatedFileType.SCANN_INDEX_FILE:
            versions.append("1.4.0")
        if file.version:
            versions.append("1.4.1")
    return max(versions, key=lambda v: tuple(map(int, v.split("."))))


def _writers():
    _shim()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, metadata_writer

    return metadata_info, metadata_writer


def _classification(model_buffer, info, labels, probabilities):
    metadata_info, metadata_writer = _writers()
    writer = metadata_writer.MetadataWriter.create(model_buffer)
    # add_general_info knows name and description only; the record also holds version,
    # author and license.
    writer.add_general_info(info.name, info.description)
    writer._general_md = metadata_info.GeneralMd(
        name=info.name, version=info.version, description=info.description, author=info.author,
        licenses=info.license,
    )  # fmt: skip
    writer.add_image_input(norm_mean=[0.0], norm_std=[1.0])  # the graph preprocesses RGB [0, 255] itself
    what = "softmax probabilities" if probabilities else "logits (no activation: MediaPipe's scores are the logits)"
    writer.add_classification_output(
        metadata_writer.Labels().add(list(labels)) if labels else None,
        name="probabilities" if probabilities else "logits",
        description=f"One score per class, {what}, in the order of the label file.",
    )
    content = writer.populate()[0]
    writer._temp_folder.cleanup()  # now: its __del__ fails when left to interpreter shutdown
    writer.__class__ = _Populated
    return content


class _Populated:
    """A used MetadataWriter: nothing left to clean up."""


@dataclasses.dataclass(frozen=True)
class TaskMetadata:
    """How one task's metadata is written and its files run in MediaPipe."""

    write: Optional[Callable]  # (model bytes, ModelInfo, labels, probabilities) -> model bytes
    run: Optional[Callable]  # (path) -> images -> list of outputs
    missing: str = ""  # why there is no writer yet


def _not_yet(task):
    return (
        f"MediaPipe metadata for {task} models is not written yet (only classification is): export with "
        "tflite_metadata=False (apps: --no-tflite-metadata) for a file LiteRT runs without metadata."
    )


def check_labels(labels, outputs):
    """Refuses class names whose count is not the model's number of outputs."""
    if labels is not None and len(labels) != outputs:
        raise MetadataError(
            f"{len(labels)} class names for a model with {outputs} outputs: give one name per output, in output "
            f"order (class_names, or {LABELS_FILE} beside the file), or none (MediaPipe then returns indices)."
        )


def _labels_for(path, outputs, labels):
    """The class names for a file with `outputs` scores: `labels`, else the export folder's
    `labels.txt`."""
    if labels is None and (Path(path).parent / LABELS_FILE).exists():
        labels = (Path(path).parent / LABELS_FILE).read_text().splitlines()
    check_labels(labels, outputs)
    return labels


def output_is_probabilities(scores):
    """Whether reference outputs (N, classes) are probabilities: in [0, 1], rows summing to 1."""
    scores = np.asarray(scores, dtype=np.float64)
    return bool(scores.min() >= 0 and scores.max() <= 1 and np.allclose(scores.sum(-1), 1, atol=1e-3))


def write(path, task, info, labels=None, probabilities=True):
    """Rewrites the `.tflite` at `path` with `task`'s MediaPipe metadata; returns what was
    written ({"task", "labels", "output"})."""
    entry = TASKS.get(task)
    if entry is None or entry.write is None:
        raise MetadataError(entry.missing if entry else f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    (output,) = interpreter.get_output_details()
    (image,) = interpreter.get_input_details()
    if image["dtype"] not in (np.float32, np.uint8) or (image["dtype"] == np.uint8 and image["quantization"][0]):
        raise MetadataError(
            f"{path} takes {np.dtype(image['dtype']).name} input with quantization {image['quantization']}; "
            "MediaPipe feeds RGB pixels: export with the preprocessing inside (include_preprocessing), so the "
            "file takes float32 or raw uint8 pixels, or with tflite_metadata=False."
        )
    labels = _labels_for(path, int(output["shape"][-1]), labels)
    content = entry.write(bytearray(Path(path).read_bytes()), info, labels, probabilities)
    Path(path).write_bytes(content)
    return {"task": task, "labels": len(labels) if labels else None,
            "output": "probabilities" if probabilities else "logits"}  # fmt: skip


def read(path):
    """The metadata of a `.tflite` as JSON text, or None when it has none."""
    _shim()
    from mediapipe.tasks.python.metadata import metadata

    displayer = metadata.MetadataDisplayer  # raises ValueError on a file without metadata
    try:
        return displayer.with_model_file(os.fspath(path)).get_metadata_json()
    except ValueError:
        return None


def _classification_runner(path):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), running_mode=vision.RunningMode.IMAGE,
        max_results=-1,
    )  # fmt: skip
    classifier = vision.ImageClassifier.create_from_options(options)
    names = {}  # index -> the category name MediaPipe returned (empty without a label file)

    def run(images):
        rows = []
        for image in np.asarray(images):
            pixels = np.ascontiguousarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
            categories = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
            categories = categories.classifications[0].categories
            scores = np.zeros(len(categories), np.float32)
            for category in categories:
                scores[category.index] = category.score
                if category.category_name:
                    names[category.index] = category.category_name
            rows.append(scores)
        return [np.stack(rows)]

    run.names = names
    run.close = classifier.close  # idempotent
    _close_before_shutdown(classifier)
    return run


def _close_before_shutdown(task):
    """Closes a MediaPipe task at exit if its user did not. MediaPipe closes through a thread
    pool that stops before `atexit` handlers run (and its `__del__` then fails noisily), so
    this hooks in where that pool is stopped: threading's exit hooks, which run last-in
    first-out, so this one before the pool's."""
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(task.close)


def mediapipe_runner(path, task="classification"):
    """A callable RGB [0, 255] images (N, side, side, 3), at the file's input size ->
    list of outputs, running the `.tflite` at `path` through MediaPipe Tasks (classification:
    [scores (N, classes)], by class index; `run.names` maps indices to the names MediaPipe
    returned). MediaPipe resizes other sizes itself (see the README, "On a phone")."""
    entry = TASKS.get(task)
    if entry is None or entry.run is None:
        raise MetadataError(entry.missing if entry else f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    require_mediapipe()
    return entry.run(Path(path))


def require_mediapipe():
    import importlib.util

    if importlib.util.find_spec("mediapipe") is None:
        raise ImportError(f"Running a .tflite through MediaPipe needs mediapipe: `{INSTALL}`.")


TASKS = {
    "classification": TaskMetadata(_classification, _classification_runner),
    "detection": TaskMetadata(None, None, _not_yet("detection")),
    "segmentation": TaskMetadata(None, None, _not_yet("segmentation")),
}
