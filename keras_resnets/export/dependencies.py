"""Which optional packages each export format needs, checked before any work starts.

A fine-tuning run or an export that would die in its last step for want of a package
fails at once instead, with one message naming every missing package. `find_spec`
looks the packages up without importing them (importing TensorFlow takes seconds).
"""

import importlib.util

# format -> the modules that write it and run it for verification.
FORMAT_MODULES = {
    "keras": (),
    "saved_model": ("tensorflow",),
    "tflite": ("tensorflow", "ai_edge_litert"),
    "onnx": ("tensorflow", "tf2onnx", "onnx", "onnxruntime"),
}
# ONNX of grouped convolutions goes through Keras' PyTorch backend (see `torch_onnx`).
GROUPED_ONNX_MODULES = ("torch",)
PIP_NAMES = {"ai_edge_litert": "ai-edge-litert"}


class MissingExportDependencyError(ImportError):
    """An export format needs a package that is not installed."""


def check_formats(formats):
    unknown = [f for f in formats if f not in FORMAT_MODULES]
    if unknown:
        raise ValueError(f"Unknown export format(s) {unknown}; use some of {list(FORMAT_MODULES)}.")


def require(formats, grouped_convolutions=False):
    """Raises `MissingExportDependencyError` unless every module `formats` need imports
    (for a model with `grouped_convolutions`, ONNX also needs PyTorch)."""
    check_formats(formats)
    needed = [m for f in formats for m in FORMAT_MODULES[f]]
    what = ", ".join(formats)
    if grouped_convolutions and "onnx" in formats:
        needed += GROUPED_ONNX_MODULES
        what += " (ONNX of grouped convolutions goes through Keras' PyTorch backend)"
    missing = [m for m in dict.fromkeys(needed) if importlib.util.find_spec(m) is None]
    if missing:
        packages = " ".join(PIP_NAMES.get(m, m) for m in missing)
        raise MissingExportDependencyError(
            f"Exporting {what} needs {packages}, which {'is' if len(missing) == 1 else 'are'}"
            f" not installed. Install with `pip install {packages}` (the versions that work together"
            " are pinned in requirements.txt and requirements-dev.txt)."
        )
