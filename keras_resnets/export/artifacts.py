"""The writers: how each export file is written from a TensorFlow-backend model (the
formats' records, which name the files, are in `formats`).

An export folder (by default `saved_models/<name>/`) holds some of: `model.keras`,
`saved_model/` (TensorFlow SavedModel), `model.tflite` (float32 LiteRT),
`model_<quantization>.tflite` (float16, dynamic-range, full int8), `model.onnx`,
`labels.txt` (one output name per line, in output order) and `export_report.json`.

Writing a SavedModel endpoint takes about as long as converting it, so inside
`serving_archives()` (an export opens it) each model's endpoint is written once per input
dtype, and the SavedModel and every TFLite file of that model are made from that one.

Every exported graph has one input named "images" (`signature`): NHWC float32 with a dynamic batch and
the model's fixed spatial size. The SavedModel serves it as the `serving_default`
signature (also `serve`). TFLite files are converted from a SavedModel of the same
endpoint (`TFLiteConverter.from_saved_model`, the path that also gives full-integer
models), with builtin ops only, so `ai_edge_litert` runs them without TensorFlow. ONNX
goes through Keras' own `format="onnx"` export: tf2onnx under TensorFlow, except for
models with grouped convolutions, which a PyTorch-backend subprocess exports with
`torch.onnx` (see `torch_onnx`).
"""

import contextlib
import os
import shutil
import tempfile

from keras_resnets.export import quantization, torch_onnx
from keras_resnets.export.signature import input_spec, write_keras_onnx


_ARCHIVES = []  # the open `serving_archives()`: {"folder": str, (id(model), dtype): (model, folder)}


@contextlib.contextmanager
def serving_archives():
    """While open, `_serving_archive` keeps what it writes (in a temporary folder) and gives
    it back for the same model and input dtype (it holds the model, so that no other model
    takes its id). The models must not change meanwhile, as they do not during one export."""
    with tempfile.TemporaryDirectory() as folder:
        _ARCHIVES.append({"folder": folder})
        try:
            yield
        finally:
            _ARCHIVES.pop()


@contextlib.contextmanager
def _serving_archive(model, dtype="float32"):
    """The folder of a SavedModel whose `serve` endpoint takes `dtype` images and feeds
    them to `model` as float32: the open `serving_archives()` one, else written for this use."""
    if _ARCHIVES:
        kept = _ARCHIVES[-1]
        key = (id(model), dtype)
        if key not in kept:
            path = os.path.join(kept["folder"], str(len(kept)))
            _write_serving_archive(model, path, dtype)
            kept[key] = (model, path)
        yield kept[key][1]
        return
    with tempfile.TemporaryDirectory() as folder:
        _write_serving_archive(model, folder, dtype)
        yield folder


def _write_serving_archive(model, path, dtype):
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda images: model(tf.cast(images, tf.float32), training=False),
        input_signature=[input_spec(model, dtype)],
    )
    archive.write_out(os.fspath(path), verbose=False)


def write_keras(model, path):
    model.save(path)


def write_saved_model(model, path):
    shutil.rmtree(path, ignore_errors=True)
    with _serving_archive(model) as archive:
        shutil.copytree(archive, path)


def write_tflite(model, path, quantize=None, representative_data=None, int8_io=True, takes_pixels=False,
                 float_output=False, float_scopes=()):
    """A `.tflite` file: float32, or quantized ("float16", "dynamic" range, full "int8").

    Full int8 calibrates its activation ranges on `representative_data` (real images, one
    at a time). With `int8_io` its input and output are integers too: raw uint8 pixels
    when the model `takes_pixels` (its preprocessing is in the graph), else int8 values
    with the file's scale and zero point; without, they stay float32. `float_output` keeps
    float32 outputs behind an integer input (MediaPipe's ObjectDetector reads float32
    detections). `float_scopes`: layers full int8 keeps float32 (`quantization.kept_float`;
    a detector's post-processing), its outputs float32 too.
    """
    import tensorflow as tf

    pixel_input = quantize == "int8" and int8_io and takes_pixels
    with _serving_archive(model, "uint8" if pixel_input else "float32") as saved_model:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            samples = representative_data.astype("uint8" if pixel_input else "float32")
            converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if int8_io:
                io_type = tf.uint8 if pixel_input else tf.int8
                if not float_output:
                    converter.inference_output_type = io_type
                if not pixel_input:  # a uint8 pixel input is already an integer tensor
                    converter.inference_input_type = io_type
        if quantize == "int8" and float_scopes:
            content = _int8_keeping_float(converter, float_scopes)
        else:
            content = converter.convert()
    with open(path, "wb") as f:
        f.write(content)


def _int8_keeping_float(converter, float_scopes):
    """Full int8 but for the tensors `float_scopes` names, through TFLite's selective
    quantization (`QuantizationDebugger`'s denylisted nodes): the converter calibrates once,
    the names are read off the calibrated file, and it is quantized without them."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    options = tf.lite.experimental.QuantizationDebugOptions()
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=converter.representative_dataset, debug_options=options
    )
    names = [t["name"] for t in Interpreter(model_content=debugger.calibrated_model).get_tensor_details()]
    options.denylisted_nodes = [name for name in names if quantization.kept_float(name, float_scopes)]
    return debugger.get_nondebug_quantized_model()


def write_onnx(model, path):
    import keras

    if keras.backend.backend() != "torch" and torch_onnx.has_grouped_convolutions(model):
        torch_onnx.write(model, path)
        return
    write_keras_onnx(model, path)

