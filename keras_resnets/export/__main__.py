"""`python -m keras_resnets.export DIR --inputs X.npz --result R.json`: the TensorFlow side of
an export from a JAX or PyTorch run (see `artifacts`)."""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from keras_resnets.export.artifacts import KERAS_FILE, export_tf_artifacts
from keras_resnets.export.checks import DEFAULT_TOLERANCE


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_resnets.export",
        description="Export <dir>/model.keras as SavedModel and TFLite under TensorFlow and "
        "check both against reference outputs (used by export_all under JAX/PyTorch).",
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
