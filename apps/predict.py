"""Top-k classes for image files, with a model exported by apps/finetune.py.

    python apps/predict.py photo1.jpg photo2.png --model saved_models/<run>/model.keras
    python apps/predict.py photo.jpg --model saved_models/<run>/model.tflite --top-k 3

`--model` is the `.keras` or the `.tflite` file (or the export folder: its model.keras);
class names come from `labels.txt` beside it. Images are decoded and resized exactly as
the fine-tuning test pipeline does; the preprocessing is inside the model.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_resnets.training import data, export  # noqa: E402


def load_predictor(path):
    """(predict(images) -> probabilities, input side in pixels) for a .keras or .tflite file."""
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        side = int(Interpreter(model_path=os.fspath(path)).get_input_details()[0]["shape"][1])
        return (lambda images: export.run_tflite(path, images)), side
    import keras

    model = keras.saving.load_model(path, compile=False)
    return (lambda images: model.predict(images, verbose=0)), int(model.input_shape[1])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="predict.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, BMP, GIF)")
    parser.add_argument("--model", required=True, help="model.keras, model.tflite, or their folder")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args(argv)
    path = Path(args.model)
    if path.is_dir():
        path = path / export.KERAS_FILE
    if not path.exists() or path.suffix not in (".keras", ".tflite"):
        parser.error(f"--model {args.model}: expected an existing .keras or .tflite file")
    labels_file = path.parent / export.LABELS_FILE
    if not labels_file.exists():
        parser.error(f"{labels_file} is missing; it names the classes in output order")
    labels = labels_file.read_text().splitlines()
    predict, side = load_predictor(path)
    status = 0
    for image_path in args.images:
        problem = data.check_image(image_path) if os.path.exists(image_path) else "no such file"
        if problem:
            print(f"{image_path}: cannot read ({problem})", file=sys.stderr)
            status = 1
            continue
        image = data.load_image(image_path, side).numpy()[None]
        probs = np.asarray(predict(image))[0]
        best = np.argsort(probs)[::-1][: args.top_k]
        print(f"{image_path}: " + ", ".join(f"{labels[i]} {probs[i]:.1%}" for i in best))
    return status


if __name__ == "__main__":
    sys.exit(main())
