"""Export a model for mobile and serving, and prove that every artifact computes what the
Keras model does.

`export(model, path, formats=("saved_model", "tflite", "onnx"), quantize=None | "float16" |
"dynamic" | "int8" | a list, ...)` writes each artifact (see `artifacts` for the files),
reruns it on real images in its own runtime, checks it against the Keras model, measures
size, latency and throughput, prints the table and writes `export_report.json`; anything
that fails is removed and raised as `ExportVerificationError`. `require(formats)` fails at
once, naming what to install, when a format's package is missing: the training core calls
it before training. `apps/export.py` is the command line.

dependencies: which package each format needs. artifacts: the files and their writers.
runners: running each file in its runtime. checks: the comparison and its bounds.
report: sizes, timings, the table. exporter: `export`, `export_all` (a training run's
export) and the TensorFlow subprocess for JAX/PyTorch models (`__main__`).
predictor: loading an exported `.keras` or `.tflite` file with its labels for inference.
"""

from keras_resnets.export.artifacts import (
    FORMATS,
    KERAS_FILE,
    LABELS_FILE,
    ONNX_FILE,
    QUANTIZATIONS,
    REPORT_FILE,
    SAVED_MODEL_DIR,
    TFLITE_FILE,
)
from keras_resnets.export.checks import DEFAULT_TOLERANCE, Bounds, ExportVerificationError, compare
from keras_resnets.export.dependencies import MissingExportDependencyError, require
from keras_resnets.export.exporter import DEFAULT_FORMATS, RUN_FORMATS, export, export_all, takes_pixels
from keras_resnets.export.predictor import Predictor, load_predictor
