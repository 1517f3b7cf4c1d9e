"""Running an exported artifact: each runner takes a path and gives a callable images ->
list of outputs (`formats.load_runner` picks the runner of a file's format).

Each runtime is the one a deployment would use: Keras for `.keras`, TensorFlow for the
SavedModel's serving signature, `ai_edge_litert` for `.tflite`, onnxruntime for `.onnx`.
Outputs come back as float arrays in the model's output order (signature outputs sorted
by name: output_0, output_1, ...); integer TFLite inputs and outputs are (de)quantized
with the scale and zero point stored in the file, so every runner takes the same float
images. With `named=True` the Keras, SavedModel and TFLite runners return the outputs by
name instead ({"boxes": ..., "scores": ...} of a detector; "output_0" for a single
tensor), for callers that read outputs by meaning (`tasks.prediction`).
"""

import os
import re

import numpy as np

SERVING_SIGNATURE = "serving_default"


def output_order(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def ordered(outputs_by_name):
    return [np.asarray(outputs_by_name[k]) for k in sorted(outputs_by_name, key=output_order)]


def keras_runner(model, named=False):
    def run(images):
        outputs = model.predict_on_batch(images)
        if not isinstance(outputs, dict):
            listed = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            outputs = {f"output_{i}": o for i, o in enumerate(listed)}
        return {k: np.asarray(v) for k, v in outputs.items()} if named else ordered(outputs)

    return run


def keras_file_runner(path, named=False):
    import keras

    import keras_resnets.core.builder  # noqa: F401  registers every custom layer our models hold

    return keras_runner(keras.saving.load_model(path, compile=False), named)


def saved_model_runner(path, named=False):
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(path))
    serve = loaded.signatures[SERVING_SIGNATURE]

    (name,) = serve.structured_input_signature[1]

    def run(images):
        outputs = {k: v.numpy() for k, v in serve(**{name: tf.constant(images)}).items()}
        return outputs if named else ordered(outputs)

    run.owner = loaded  # `loaded` owns the variables `serve` reads: keep it alive
    return run


def _quantize(images, details):
    scale, zero_point = details["quantization"]
    if details["dtype"] == np.float32:
        return images.astype(np.float32)
    if scale == 0:  # an integer input without quantization: raw uint8 pixels
        return np.clip(np.round(images), 0, 255).astype(details["dtype"])
    info = np.iinfo(details["dtype"])
    return np.clip(np.round(images / scale + zero_point), info.min, info.max).astype(details["dtype"])


def _dequantize(values, details):
    scale, zero_point = details["quantization"]
    values = np.asarray(values)
    return (values.astype(np.float32) - zero_point) * scale if scale else values.astype(np.float32)


def tflite_runner(path, named=False):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path), num_threads=os.cpu_count())
    runner = interpreter.get_signature_runner(SERVING_SIGNATURE)
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    (name, details), = inputs.items()

    def run(images):
        result = runner(**{name: _quantize(np.asarray(images), details)})
        result = {k: _dequantize(v, outputs[k]) for k, v in result.items()}
        return result if named else ordered(result)

    return run


def onnx_runner(path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count()  # as LiteRT's, so that their timings compare
    session = onnxruntime.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
    (feed,) = session.get_inputs()
    names = sorted((o.name for o in session.get_outputs()), key=output_order)

    def run(images):
        return session.run(names, {feed.name: np.asarray(images, dtype=np.float32)})

    return run


def run_batched(run, images, batch_size=64):
    """`run` over `images` in batches; returns the concatenated list of outputs."""
    parts = [run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return [np.concatenate(column) for column in zip(*parts)]
