"""Predictions on photos by a classifier, a detector or a segmenter (the task read off its outputs).

    python apps/predict.py photo.jpg --model saved_models/<run>/model.keras            # top-5 classes
    python apps/predict.py photos/ --model saved_models/<run>/model.tflite --top-k 3
    python apps/predict.py photos/ --model saved_models/<detector-run>/saved_model --output-dir predictions
    python apps/predict.py photo.jpg --model deeplabv3_resnet50 --weights <tag>        # a registered model

Inputs are image files (JPEG, PNG, BMP, GIF) or folders of them. `--model` is a `.keras`
file, a SavedModel folder, a `.tflite` file, an export folder (its model.keras), or a
registered name built with --weights (a tag, a file, or 'none'; default: the model's
default weights). Class names come from the export folder's labels.txt, a registered task
model's label set (COCO, VOC) or ImageNet's names, else class indices.

- Classification: one line per photo with its top-k classes (nothing written). Photos
  are squashed to the square input, as the fine-tuning evaluation does.
- Detection and segmentation: each photo is letterboxed (resized keeping its aspect
  ratio so its longer side is the model's side, zero-padded at the bottom and right),
  as their evaluation does, and predictions are mapped back to the photo's own pixels.
  Detection writes <output-dir>/<photo>.png (boxes with class name and score, those
  scoring >= --min-score) and <output-dir>/detections.json (every detection, COCO results
  format: file_name, category_id (the training data's, from the export folder's
  categories.json, else the class index), category_name, bbox [x, y, w, h] in the
  photo's pixels, score). Segmentation writes <output-dir>/<photo>.png (the class mask
  blended over the photo, a legend of the classes present) and <output-dir>/<photo>.json
  (pixels per class, summing to width x height).

`--runtime mediapipe` runs a `.tflite` through MediaPipe Tasks (`pip install mediapipe==1.2.2`),
the engine of the Android, iOS and web apps, so the desktop shows what the phone will.

Exit status: 0 done, 1 some photo could not be read, 2 bad input or options.
"""

import argparse
import sys

from keras_resnets.training import cli


def build_parser():
    parser = argparse.ArgumentParser(prog="predict.py", description=__doc__ or "predict.py",
                                     formatter_class=cli.HelpFormatter)  # fmt: skip
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, BMP, GIF) or folders of them")
    parser.add_argument("--model", required=True,
                        help="model.keras, model.tflite, a SavedModel folder, an export folder, or a name")
    parser.add_argument("--weights", help="with a model name: a weights tag, a file or 'none'; default: its default")
    parser.add_argument("--image-size", type=int, help="with a model name: its input side; default: the weights'")
    parser.add_argument("--top-k", type=int, default=5, help="classification: classes shown per photo")
    parser.add_argument("--min-score", type=float, default=0.3, help="detection: boxes drawn score at least this")
    parser.add_argument("--output-dir", default="predictions", help="detection and segmentation: where files go")
    parser.add_argument("--runtime", default="native", choices=("native", "mediapipe"),
                        help="native: each file in its own runtime (Keras, TensorFlow, LiteRT); mediapipe: a "
                        ".tflite through MediaPipe Tasks, exactly as a phone app runs it (classification files)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k {args.top_k}: show at least 1 class")
    if not 0 <= args.min_score <= 1:
        parser.error(f"--min-score {args.min_score}: a score between 0 and 1")
    if args.image_size is not None and args.image_size < 32:
        parser.error(f"--image-size {args.image_size}: at least 32")
    cli.import_backend()
    from keras_resnets.tasks import prediction

    try:
        model = prediction.load(args.model, args.weights, args.image_size, args.runtime)
    except (OSError, ValueError, ImportError) as exc:  # OSError: weights not downloadable; ImportError: mediapipe
        parser.error(f"--model {args.model}: {exc}")
    try:
        _, unreadable = prediction.predict(model, args.images, args.output_dir, args.top_k, args.min_score)
    except (FileNotFoundError, ValueError) as exc:  # the photos, or outputs of no known task
        parser.error(str(exc))
    return 1 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
