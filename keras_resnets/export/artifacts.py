"""Writes `model.keras`, `saved_model/`, `model.tflite` and `labels.txt`, each checked.

Every artifact is reloaded and run on real example inputs, and its outputs are compared
with the trained model's (`checks.compare`); any failure raises `ExportVerificationError`.

SavedModel and LiteRT export need TensorFlow (LiteRT refuses the JAX backend), so under
JAX or PyTorch the `.keras` file is written and checked in-process, and a TensorFlow
subprocess (`python -m keras_resnets.export`) rebuilds the model from that file, exports
the SavedModel and TFLite files and checks them against the reference outputs computed
by the original backend.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

# Registers the Preprocess layer, which task models (and so `model.keras`) hold.
import keras_resnets.imagenet  # noqa: F401
from keras_resnets.export.checks import DEFAULT_TOLERANCE, ExportVerificationError, compare

KERAS_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "model.tflite"
LABELS_FILE = "labels.txt"


def run_keras_file(path, images):
    return keras.saving.load_model(path, compile=False).predict(images, verbose=0)


def run_saved_model(path, images):
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(path))  # must outlive the call: it owns the variables
    return loaded.serve(tf.constant(images)).numpy()


def run_tflite(path, images):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, images.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def write_saved_model(model, path):
    model.export(os.fspath(path), format="tf_saved_model", verbose=False)


def write_tflite(model, path):
    model.export(os.fspath(path), format="litert", verbose=False)


def export_tf_artifacts(model, out_dir, images, reference, tolerance):
    """SavedModel + TFLite from a model built under the TensorFlow backend, both checked."""
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir / SAVED_MODEL_DIR, ignore_errors=True)
    write_saved_model(model, out_dir / SAVED_MODEL_DIR)
    write_tflite(model, out_dir / TFLITE_FILE)
    return {
        "saved_model": compare(run_saved_model(out_dir / SAVED_MODEL_DIR, images), reference, tolerance),
        "tflite": compare(run_tflite(out_dir / TFLITE_FILE, images), reference, tolerance),
    }


def _export_in_tensorflow_subprocess(out_dir, images, reference, tolerance):
    out_dir = Path(out_dir)
    inputs = out_dir / ".verify-inputs.npz"
    result = out_dir / ".verify-result.json"
    np.savez(inputs, images=images, reference=reference)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    command = [
        sys.executable, "-m", "keras_resnets.export", os.fspath(out_dir),
        "--inputs", os.fspath(inputs), "--result", os.fspath(result), "--tolerance", str(tolerance),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            raise ExportVerificationError(
                "The TensorFlow export subprocess failed (exit "
                f"{done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        with open(result) as f:
            return json.load(f)
    finally:
        inputs.unlink(missing_ok=True)
        result.unlink(missing_ok=True)


def export_all(model, out_dir, labels, images, tolerance=DEFAULT_TOLERANCE):
    """Writes every artifact and returns {artifact: check}; raises if any check fails.

    `labels` name the outputs in order (`labels.txt`); `images` are real example inputs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / LABELS_FILE).write_text("".join(f"{name}\n" for name in labels))
    reference = np.asarray(model.predict(images, verbose=0))
    model.save(out_dir / KERAS_FILE)
    checks = {"keras": compare(run_keras_file(out_dir / KERAS_FILE, images), reference, tolerance)}
    if keras.backend.backend() == "tensorflow":
        checks.update(export_tf_artifacts(model, out_dir, images, reference, tolerance))
    else:
        checks.update(_export_in_tensorflow_subprocess(out_dir, images, reference, tolerance))
    failed = {name: check for name, check in checks.items() if not check["ok"]}
    if failed:
        raise ExportVerificationError(
            f"Exported artifacts in {out_dir} do not match the trained Keras model on "
            f"{len(images)} test images (tolerance {tolerance}): {json.dumps(failed)}"
        )
    return checks
