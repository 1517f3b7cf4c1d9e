"""`python -m keras_resnets.export MODEL.keras OUT_DIR --request R.json --arrays A.npz --result
ROWS.json`: the TensorFlow side of an export from a JAX or PyTorch model (see `exporter`)."""

import argparse
import importlib
import json
from pathlib import Path

import keras
import numpy as np

from keras_resnets.export.exporter import Request, export_artifacts


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_resnets.export",
        description="Rebuild a .keras model under TensorFlow, write the requested artifacts and "
        "check them against the reference outputs of the backend it was built on.",
    )
    parser.add_argument("keras_file")
    parser.add_argument("out_dir")
    parser.add_argument("--request", required=True, help="the Request as JSON")
    parser.add_argument("--arrays", required=True, help=".npz: images, reference_<i>, optional labels and representative")
    parser.add_argument("--result", required=True, help="where to write the report rows as JSON")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        parser.error("run with KERAS_BACKEND=tensorflow")
    request = Request.from_json(Path(args.request).read_text())
    if request.check:  # a custom check's module registers the custom layers of the model it checks
        importlib.import_module(request.check.partition(":")[0])
    arrays = np.load(args.arrays)
    reference = [arrays[f"reference_{i}"] for i in range(sum(k.startswith("reference_") for k in arrays))]
    model = keras.saving.load_model(args.keras_file, compile=False)
    rows = export_artifacts(
        model, args.out_dir, request, arrays["images"], arrays.get("labels"), arrays.get("representative"), reference
    )
    Path(args.result).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
