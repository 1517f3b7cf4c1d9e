"""Export a model for mobile and serving, and prove that every artifact computes what the
Keras model does.

`export(model, path, formats=("saved_model", "tflite", "onnx"), quantize=None | "float16" |
"dynamic" | "int8" | a list, ...)` writes each artifact (see `formats` for the files),
reruns it on real images in its own runtime, checks it against the Keras model (and that a
quantized file is quantized), measures size, latency and throughput, prints the table and
writes `export_report.json`; anything that fails is removed and raised as
`ExportVerificationError`. `require(formats)` fails at once, naming what to install, when a
format's package is missing: the training core calls it before training. `apps/export.py`
(`keras_resnets.tasks.export_job.ExportJob`) is the command line.

formats: one record per format (file, writer, runner, packages, backend) and the plan.
artifacts: the writers. signature: the input every graph takes. runners: running each file
in its runtime. dependencies: the packages, checked up front. checks: the comparison and
its bounds. quantization: whether a quantized file is quantized. report: sizes, timings,
the table. exporter: `export`, `export_all` (a training run's export) and the TensorFlow
subprocess for JAX/PyTorch models (`__main__`). metadata: MediaPipe Tasks metadata in the
`.tflite` files and `mediapipe_runner`, running them through MediaPipe (one `mediapipe_<task>`
module per task, `mediapipe_base` what they share). predictor: loading an exported `.keras` or
`.tflite` file with its labels for inference. torch_onnx: ONNX of grouped convolutions.

Names are resolved on first use (PEP 562), so reading the formats or the bounds (a command
line's options) imports neither Keras nor TensorFlow.
"""

import importlib

# Public name -> the module that defines it.
_API = {
    "FORMATS": "formats",
    "DEFAULT_FORMATS": "formats",
    "RUN_FORMATS": "formats",
    "QUANTIZATIONS": "formats",
    "CALIBRATION_IMAGES": "formats",
    "LABELS_FILE": "formats",
    "REPORT_FILE": "formats",
    "DEFAULT_TOLERANCE": "checks",
    "Bounds": "checks",
    "ExportVerificationError": "checks",
    "compare": "checks",
    "MissingExportDependencyError": "dependencies",
    "require": "dependencies",
    "export": "exporter",
    "export_all": "exporter",
    "takes_pixels": "exporter",
    "ModelInfo": "metadata",
    "mediapipe_runner": "metadata",
    "Predictor": "predictor",
    "load_predictor": "predictor",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    try:  # a submodule, as `export.formats`
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
