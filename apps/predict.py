"""Top-k classes for image files, with a model exported by apps/finetune.py.

    python apps/predict.py photo1.jpg photo2.png --model saved_models/<run>/model.keras
    python apps/predict.py photo.jpg --model saved_models/<run>/model.tflite --top-k 3

`--model` is the `.keras` or the `.tflite` file (or the export folder: its model.keras);
class names come from `labels.txt` beside it. Images are decoded and resized exactly as
the fine-tuning test pipeline does; the preprocessing is inside the model. A registered
name (`--model resnet20`) is built with its default weights, as apps/export.py and
apps/finetune.py build it (`keras_resnets.weights.select`).
"""

import argparse
import os
import sys

from keras_resnets.training import cli


def main(argv=None):
    parser = argparse.ArgumentParser(prog="predict.py", description=(__doc__ or "").partition("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, BMP, GIF)")
    parser.add_argument("--model", required=True, help="model.keras, model.tflite, their folder, or a model name")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k {args.top_k}: show at least 1 class")
    cli.import_backend()
    from keras_resnets.export import load_predictor
    from keras_resnets.tasks import images

    try:
        predictor = load_predictor(args.model)
    except FileNotFoundError as exc:
        parser.error(f"--model {args.model}: {exc}")
    status = 0
    for image_path in args.images:
        problem = images.check_image(image_path) if os.path.exists(image_path) else "no such file"
        if problem:
            print(f"{image_path}: cannot read ({problem})", file=sys.stderr)
            status = 1
            continue
        best = predictor.top_k(images.load_image(image_path, predictor.image_size).numpy(), args.top_k)
        print(f"{image_path}: " + ", ".join(f"{label} {p:.1%}" for label, p in best))
    return status


if __name__ == "__main__":
    sys.exit(main())
