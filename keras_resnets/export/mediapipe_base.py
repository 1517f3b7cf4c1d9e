"""What every MediaPipe task module of the export shares: errors, the model record, the
writers' import (with the shim below), label checks, and closing a task at exit.

MediaPipe 1.2.2's wheel lacks the compiled `_pywrap_metadata_version` that its metadata
populator imports for one call (the oldest metadata parser that reads a buffer); `shim`
provides it from the schema's own version table for the members our writers use.
"""

import dataclasses
import sys
import threading
import types
from pathlib import Path

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


@dataclasses.dataclass(frozen=True)
class SameFile:
    """What LiteRT's interpreter gave for the file MediaPipe is checked on: its check row
    against the Keras model and its outputs, mapped back to the Keras model's."""

    check: dict
    outputs: list


def shim():
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
    version notes; a member without a note is in the first schema, 1.0.0): the newest
    member it uses; a member this does not know is refused rather than under-reported."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    content_versions = {
        fb.ContentProperties.NONE: "1.0.0", fb.ContentProperties.FeatureProperties: "1.0.0",
        fb.ContentProperties.ImageProperties: "1.0.0", fb.ContentProperties.BoundingBoxProperties: "1.0.0",
        fb.ContentProperties.AudioProperties: "1.3.0",
    }  # fmt: skip
    unit_versions = {
        fb.ProcessUnitOptions.NormalizationOptions: "1.0.0", fb.ProcessUnitOptions.ScoreCalibrationOptions: "1.0.0",
        fb.ProcessUnitOptions.ScoreThresholdingOptions: "1.0.0", fb.ProcessUnitOptions.BertTokenizerOptions: "1.1.0",
        fb.ProcessUnitOptions.SentencePieceTokenizerOptions: "1.1.0",
        fb.ProcessUnitOptions.RegexTokenizerOptions: "1.2.1",
    }  # fmt: skip

    def known(table, key, what):
        if key not in table:
            raise NotImplementedError(f"metadata with {what} {key}: extend _minimum_parser_version")
        return table[key]

    metadata = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(bytes(buffer), 0))
    versions = ["1.0.0"]
    files = list(metadata.associatedFiles or [])
    for graph in metadata.subgraphMetadata or []:
        files += graph.associatedFiles or []
        units = (graph.inputProcessUnits or []) + (graph.outputProcessUnits or [])
        if units:
            versions.append("1.1.0")
        if graph.inputTensorGroups or graph.outputTensorGroups:
            versions.append("1.2.0")
        if getattr(graph, "customMetadata", None):
            versions.append("1.5.0")
        for tensor in (graph.inputTensorMetadata or []) + (graph.outputTensorMetadata or []):
            files += tensor.associatedFiles or []
            units += tensor.processUnits or []
            if tensor.content:
                versions.append(known(content_versions, tensor.content.contentPropertiesType, "content type"))
        versions += [known(unit_versions, unit.optionsType, "process unit type") for unit in units]
    for file in files:
        if file.type == fb.AssociatedFileType.VOCABULARY:
            versions.append("1.0.1")
        if file.type == fb.AssociatedFileType.SCANN_INDEX_FILE:
            versions.append("1.4.0")
        if file.version:
            versions.append("1.4.1")
    return max(versions, key=lambda v: tuple(map(int, v.split("."))))


def writers():
    """MediaPipe's `metadata_info` and `metadata_writer` modules."""
    shim()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, metadata_writer

    return metadata_info, metadata_writer


def new_writer(model_buffer, info):
    """A MetadataWriter for `model_buffer` holding `info`'s general record."""
    _, metadata_writer = writers()
    return with_general_info(metadata_writer.MetadataWriter.create(model_buffer), info)


def with_general_info(writer, info):
    """`writer` (a MetadataWriter) holding `info`'s general record, in place of any other."""
    metadata_info, _ = writers()
    # add_general_info knows name and description only; the record also holds version,
    # author and license.
    writer._general_md = metadata_info.GeneralMd(
        name=info.name, version=info.version, description=info.description, author=info.author,
        licenses=info.license,
    )  # fmt: skip
    return writer


def populate(writer):
    """The model bytes with the metadata `writer` holds."""
    content = writer.populate()[0]
    writer._temp_folder.cleanup()  # now: its __del__ fails when left to interpreter shutdown
    writer.__class__ = _Populated
    return content


class _Populated:
    """A used MetadataWriter: nothing left to clean up."""


def check_labels(labels, outputs):
    """Refuses class names whose count is not the model's number of outputs."""
    if labels is not None and len(labels) != outputs:
        raise MetadataError(
            f"{len(labels)} class names for a model with {outputs} outputs: give one name per output, in output "
            f"order (class_names, or {LABELS_FILE} beside the file), or none (MediaPipe then returns indices)."
        )


def labels_for(path, outputs, labels):
    """The class names for a file with `outputs` scores: `labels`, else the export folder's
    `labels.txt` (their count checked unless `outputs` is None)."""
    if labels is None and (Path(path).parent / LABELS_FILE).exists():
        labels = (Path(path).parent / LABELS_FILE).read_text().splitlines()
    if outputs is not None:
        check_labels(labels, outputs)
    return labels


def close_before_shutdown(task):
    """Closes a MediaPipe task at exit if its user did not. MediaPipe closes through a thread
    pool that stops before `atexit` handlers run (and its `__del__` then fails noisily), so
    this hooks in where that pool is stopped: threading's exit hooks, which run last-in
    first-out, so this one before the pool's."""
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(task.close)


def require_mediapipe():
    import importlib.util

    if importlib.util.find_spec("mediapipe") is None:
        raise ImportError(f"Running a .tflite through MediaPipe needs mediapipe: `{INSTALL}`.")
