"""`python -m keras_resnets.export.torch_onnx MODEL.keras MODEL.onnx`: ONNX through Keras'
PyTorch backend (`torch.onnx`), for graphs that tf2onnx cannot convert.

Keras runs grouped convolutions (ResNeXt, DPN) under TensorFlow as an XLA-compiled inner
function; tf2onnx leaves it as a `StatefulPartitionedCall` that onnxruntime rejects. The
PyTorch backend traces the same `.keras` model into plain ONNX `Conv` nodes with `group`
set. This runs in its own process because a process holds one Keras backend.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from keras_resnets.export.signature import write_keras_onnx

WHY = "ONNX of grouped convolutions goes through Keras' PyTorch backend"


def has_grouped_convolutions(model):
    """Whether `model` or a model nested in it has a Conv2D with groups > 1."""
    import keras

    return any(
        has_grouped_convolutions(layer) if isinstance(layer, keras.Model) else getattr(layer, "groups", 1) > 1
        for layer in model.layers
    )


def packages(model):
    """(modules, why) that the ONNX export of `model` needs beyond tf2onnx's."""
    return (("torch",), WHY) if has_grouped_convolutions(model) else ((), "")


def write(model, path):
    """Writes `model` (any backend) as ONNX from a PyTorch-backend copy of it."""
    with tempfile.TemporaryDirectory() as tmp:
        keras_file = Path(tmp) / "model.keras"
        model.save(keras_file)
        command = [sys.executable, "-m", __name__, os.fspath(keras_file), os.fspath(path)]
        done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "torch"}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ONNX export through the PyTorch backend failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description=(__doc__ or "").partition("\n\n")[0])
    parser.add_argument("keras_file")
    parser.add_argument("onnx_file")
    args = parser.parse_args(argv)
    import keras

    import keras_resnets.core.builder  # noqa: F401  registers every custom layer our models hold

    if keras.backend.backend() != "torch":
        parser.error("run with KERAS_BACKEND=torch")
    write_keras_onnx(keras.saving.load_model(args.keras_file, compile=False), args.onnx_file)


if __name__ == "__main__":
    main()
