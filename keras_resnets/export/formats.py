"""One record per export format: its file, writer, runner, packages and Keras backend.

Everything else in `export/` reads these records: `plan` and `write` (what to write and
how), `load_runner` (how to run a file), `dependencies.require` (what to install) and the
exporter (which backend writes it). A new format is one more entry of `FORMATS`, with its
writer in `artifacts` and its runner in `runners` (see the README, "Adding an export
format"). Nothing here imports Keras or TensorFlow, so a command line can list the formats
before paying for them.
"""

import dataclasses
from pathlib import Path
from typing import Callable, Optional

from keras_resnets.export import artifacts, quantization, runners, torch_onnx

LABELS_FILE = "labels.txt"  # one output name per line, in output order
REPORT_FILE = "export_report.json"
QUANTIZATIONS = ("float16", "dynamic", "int8")
CALIBRATION_IMAGES = 300  # full int8 calibrates on this many real images by default


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    file: str  # in the export folder (a SavedModel is a folder)
    write: Callable  # (model, path) or, quantized, (model, path, quantize=q, **options)
    run: Callable  # path -> (float images -> list of output arrays), in the deployment runtime
    packages: tuple = ()  # modules that write and run it, looked up before any work
    backend: Optional[str] = "tensorflow"  # the Keras backend its writer needs; None: any
    quantizations: tuple = ()  # quantized variants, one file each: `<stem>_<q><suffix>`
    tensor_types: Optional[Callable] = None  # path -> `quantization.TensorTypes` (quantized files)
    model_packages: Callable = lambda model: ((), "")  # (modules, why): what `model` needs beyond `packages`


FORMATS = {
    f.name: f
    for f in (
        Format("keras", "model.keras", artifacts.write_keras, runners.keras_file_runner, backend=None),
        Format("saved_model", "saved_model", artifacts.write_saved_model, runners.saved_model_runner,
               packages=("tensorflow",)),
        Format("tflite", "model.tflite", artifacts.write_tflite, runners.tflite_runner,
               packages=("tensorflow", "ai_edge_litert"), quantizations=QUANTIZATIONS,
               tensor_types=quantization.tflite_tensor_types),
        Format("onnx", "model.onnx", artifacts.write_onnx, runners.onnx_runner,
               packages=("tensorflow", "tf2onnx", "onnx", "onnxruntime"), model_packages=torch_onnx.packages),
    )
}  # fmt: skip
DEFAULT_FORMATS = ("saved_model", "tflite", "onnx")
RUN_FORMATS = ("keras", "saved_model", "tflite")  # what a training run exports


def check_formats(formats):
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"Unknown export format(s) {unknown}; use some of {list(FORMATS)}.")


@dataclasses.dataclass(frozen=True)
class Artifact:
    format: str
    quantize: str = None

    @property
    def name(self):
        return self.format if self.quantize is None else f"{self.format}_{self.quantize}"

    @property
    def file(self):
        file = Path(FORMATS[self.format].file)
        return file.name if self.quantize is None else f"{file.stem}_{self.quantize}{file.suffix}"


def plan(formats, quantize):
    """The artifacts for `formats`; a quantizable format once per entry of `quantize`
    (None: float32)."""
    check_formats(formats)
    quantize = quantize if isinstance(quantize, (list, tuple)) else (quantize,)
    unknown = [q for q in quantize if q is not None and q not in QUANTIZATIONS]
    if unknown:
        raise ValueError(f"Unknown quantization(s) {unknown}; use None or some of {QUANTIZATIONS}.")
    return [
        Artifact(f, q)
        for f in formats
        for q in (quantize if FORMATS[f].quantizations else (None,))
        if q is None or q in FORMATS[f].quantizations
    ]


def write(artifact, model, path, **quantization_options):
    """Writes `artifact` of `model` (on its format's backend) to `path`."""
    options = {"quantize": artifact.quantize, **quantization_options} if artifact.quantize else {}
    FORMATS[artifact.format].write(model, path, **options)


def format_of(path):
    """The format whose files end as `path` does (a SavedModel: a folder)."""
    suffix = Path(path).suffix
    for candidate in FORMATS.values():
        if Path(candidate.file).suffix == suffix:
            return candidate
    raise ValueError(f"{path} is no export file; they are {', '.join(f.file for f in FORMATS.values())}.")


def load_runner(path):
    """A callable images -> list of outputs, running the file at `path` in its runtime."""
    return format_of(path).run(Path(path))
