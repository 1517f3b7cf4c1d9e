"""Which optional packages the export formats need, checked before any work starts.

A fine-tuning run or an export that would die in its last step for want of a package
fails at once instead, with one message naming every missing package. `find_spec`
looks the packages up without importing them (importing TensorFlow takes seconds). The
packages of each format are in its record (`formats.FORMATS`).
"""

import importlib.util

from keras_resnets.export import formats as formats_lib

PIP_NAMES = {"ai_edge_litert": "ai-edge-litert", "mediapipe": "mediapipe==1.2.2"}


class MissingExportDependencyError(ImportError):
    """An export format needs a package that is not installed."""


def require(formats, model=None, tflite_metadata=False):
    """Raises `MissingExportDependencyError` unless every module `formats` need imports
    (with `model`, also what that model needs: ONNX of grouped convolutions, PyTorch; with
    `tflite_metadata`, MediaPipe, which writes TFLite metadata and checks the files)."""
    formats_lib.check_formats(formats)
    needed, what = [], ", ".join(formats)
    if tflite_metadata and "tflite" in formats:
        needed.append("mediapipe")
        what += " (with MediaPipe metadata; or turn it off: tflite_metadata=False, --no-tflite-metadata)"
    for name in formats:
        record = formats_lib.FORMATS[name]
        needed += record.packages
        extra, why = record.model_packages(model) if model is not None else ((), "")
        if extra:
            needed += extra
            what += f" ({why})"
    missing = [m for m in dict.fromkeys(needed) if importlib.util.find_spec(m) is None]
    if missing:
        packages = " ".join(PIP_NAMES.get(m, m) for m in missing)
        raise MissingExportDependencyError(
            f"Exporting {what} needs {packages}, which {'is' if len(missing) == 1 else 'are'}"
            f" not installed. Install with `pip install {packages}` (the versions that work together"
            " are pinned in requirements.txt and requirements-dev.txt)."
        )
