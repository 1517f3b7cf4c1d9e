"""Export a trained classifier and prove each artifact computes what the Keras model does.

`saved_models/<run>/` gets `model.keras`, `saved_model/` (TensorFlow SavedModel, `serve`
signature), `model.tflite` (float32 LiteRT) and `labels.txt` (one class per line, in
output order). Every artifact is reloaded and run on real test images, and its
probabilities are compared with the trained model's: the max abs difference must be
within the tolerance, and the top-1 class must agree on every image whose reference
top-1/top-2 margin is wider than that tolerance (closer calls may flip legitimately).
Any failure raises `ExportVerificationError`.

SavedModel and LiteRT export need TensorFlow (LiteRT refuses the JAX backend), so under
JAX or PyTorch the `.keras` file is written and checked in-process, and a TensorFlow
subprocess (`python -m keras_resnets.training.export`) rebuilds the model from that
file, exports the SavedModel and TFLite files and checks them against the reference
probabilities computed by the original backend.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

# Registers the Preprocess layer, which `model.keras` holds.
from keras_resnets.training import model as _model  # noqa: F401

KERAS_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "model.tflite"
LABELS_FILE = "labels.txt"
DEFAULT_TOLERANCE = 1e-3


class ExportVerificationError(RuntimeError):
    """An exported artifact does not reproduce the Keras model."""


def compare(outputs, reference, tolerance):
    outputs = np.asarray(outputs, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if outputs.shape != reference.shape:
        return {"ok": False, "error": f"output shape {outputs.shape} != {reference.shape}"}
    top2 = np.sort(reference, axis=-1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > tolerance
    agree = np.argmax(outputs, axis=-1) == np.argmax(reference, axis=-1)
    diff = float(np.max(np.abs(outputs - reference)))
    return {
        "ok": bool(diff <= tolerance and agree[clear].all()),
        "max_abs_diff": diff,
        "top1_agreement": float(agree.mean()),
        "images": int(len(reference)),
    }


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
        sys.executable, "-m", "keras_resnets.training.export", os.fspath(out_dir),
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


def export_all(model, out_dir, class_names, images, tolerance=DEFAULT_TOLERANCE):
    """Writes every artifact and returns {artifact: check}; raises if any check fails."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / LABELS_FILE).write_text("".join(f"{name}\n" for name in class_names))
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


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export <dir>/model.keras as SavedModel and TFLite under TensorFlow and "
        "check both against reference probabilities (used by export_all under JAX/PyTorch)."
    )
    parser.add_argument("out_dir")
    parser.add_argument("--inputs", required=True, help=".npz with `images` and `reference`")
    parser.add_argument("--result", required=True, help="where to write the checks as JSON")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        parser.error("run with KERAS_BACKEND=tensorflow")
    data = np.load(args.inputs)
    model = keras.saving.load_model(Path(args.out_dir) / KERAS_FILE, compile=False)
    checks = export_tf_artifacts(model, args.out_dir, data["images"], data["reference"], args.tolerance)
    with open(args.result, "w") as f:
        json.dump(checks, f)


if __name__ == "__main__":
    main()
