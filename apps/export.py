"""Export a model for mobile and serving, each artifact verified on real images.

    python apps/export.py --model resnet56 --weights cifar10 --include-preprocessing \
        --quantize none float16 dynamic int8 \
        --eval-data ../shared/data/cifar10-test/cifar10_test_yoongikim_jpeg.npz
    python apps/export.py --model saved_models/<run>/model.keras --formats tflite --quantize int8 \
        --eval-data ../shared/data/flowers-mini
    python apps/export.py --model saved_models/<detect run>/model.keras --formats tflite \
        --quantize none int8 --eval-data ../shared/data/detection-mini

The work is `keras_resnets.tasks.export_job.ExportJob`, which a notebook can run too.
`--model` is a registered name (built with `--weights`) or a `.keras` file. The formats go
to `saved_models/<name>/` (or `--output-dir`): SavedModel, TFLite (float32 and each
`--quantize` mode), ONNX. Every artifact runs on the `--eval-data` images in its own
runtime and is compared with the Keras model; the table (size, max abs diff, top-1
agreement, accuracy, latency, images/s) is printed and written to `export_report.json`.
Full int8 calibrates on `--calibration-data` or `--dataset`, by default on evaluation
images, or the train split of a segmentation or detection folder given as `--eval-data`
(the log and the report's `calibration_overlap` say how many calibration images are also
evaluated); every quantized file is also checked to hold quantized tensors and to be smaller
than the float32 file. A detector (a `.keras` file that `apps/detect.py` wrote: it ends with
its final detections) is checked on a detection folder's test split: detections found again
instead of top-1 agreement, and mAP, mAP@.5 per file instead of accuracy.

Exit status: 0 every artifact passed; 2 bad options or a missing package (nothing was
done); 3 an artifact failed its check (it was removed; the report says why).
"""

import argparse
import logging
import sys

# Only light modules here: the options are read and checked before Keras and TensorFlow
# (about 10 s) are imported, so a typo costs nothing (`keras_resnets.export` loads lazily).
from keras_resnets import export
from keras_resnets.core.modes import PREPROCESSING_MODES
from keras_resnets.export import report
from keras_resnets.tasks.export_job import ExportJob
from keras_resnets.training import cli

EXIT_USAGE, EXIT_EXPORT = 2, 3


def number(kind, least, what, most=None):
    """An argparse type: a `kind` from `least` to `most` (0 is a value, not "unset")."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if value < least or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what}")
        return value

    return parse


def build_parser():
    p = argparse.ArgumentParser(
        prog="export.py", description=(__doc__ or "").partition("\n\n")[0], epilog="More in README.md.",
        formatter_class=cli.HelpFormatter,
    )  # fmt: skip
    add = p.add_argument_group("model").add_argument
    add("--model", required=True, help="a name of keras_resnets.list_models(), or a .keras file")
    add("--weights", help="with a name: a weights tag, 'none' or a file; default: the model's default")
    add("--image-size", type=number(int, 1, "an input side is a positive number of pixels"),
        help="with a name: input side; default: the weights' resolution")  # fmt: skip
    add("--preprocessing", choices=PREPROCESSING_MODES,
        help="the model's input preprocessing; default: the weights' own (a name), the Preprocess "
        "layer's (a .keras file)")  # fmt: skip
    add("--include-preprocessing", action="store_true",
        help="bake the preprocessing into the exported graphs: they take RGB 0-255 (uint8 for int8)")  # fmt: skip
    add = p.add_argument_group("formats").add_argument
    add("--formats", nargs="+", default=list(export.DEFAULT_FORMATS), choices=list(export.FORMATS),
        help="the files to write")  # fmt: skip
    add("--quantize", nargs="+", default=["none"], choices=["none", *export.QUANTIZATIONS],
        help="TFLite files to write: none (float32), float16, dynamic (range), int8 (full integer)")  # fmt: skip
    add("--float-io", action="store_true", help="float32 input and output for the int8 model")
    add("--no-tflite-metadata", dest="tflite_metadata", action="store_false",
        help="TFLite files without the MediaPipe Tasks metadata (normalization, labels, license) and its check")  # fmt: skip
    data = p.add_argument_group("data")
    add = data.add_argument
    add("--eval-data", required=True, help="a .npz of uint8 images (x, y), an image folder, a segmentation "
        "folder (images/, masks/: its test split, with mIoU in the report) or a detection folder (images/ with "
        "annotations.json or labels/: its test split, with mAP; a detector needs one)")
    add("--eval-images", type=number(int, 1, "the checks need at least 1 image"),
        help="at most this many, spread over the set; default: all")  # fmt: skip
    add("--eval-split", choices=("train", "val", "test"), default="test",
        help="a segmentation or detection folder's split the checks run on (train: int8 calibrates there too)")  # fmt: skip
    calibration = data.add_mutually_exclusive_group()
    calibration.add_argument("--calibration-data",
                             help="int8 calibration images: .npz or folder (a segmentation or detection folder: "
                             "its train split); default: the evaluation images, or such a folder's train split")  # fmt: skip
    calibration.add_argument("--dataset", help="int8 calibration from a tensorflow-datasets set (its train split)")
    add("--calibration-images", default=export.CALIBRATION_IMAGES,
        type=number(int, 1, "full int8 needs at least 1 real image to calibrate on, or it silently stays float32"),
        help="int8 calibrates on at most this many, spread over the calibration set")  # fmt: skip
    add = p.add_argument_group("checks and output").add_argument
    add("--output-dir", help="default: saved_models/<model name>")
    add("--tolerance", type=number(float, 0, "a max abs difference, at least 0"),
        default=export.DEFAULT_TOLERANCE, help="float artifacts: max abs diff")  # fmt: skip
    add("--min-agreement", type=number(float, 0, "a percentage, 0 to 100", most=100),
        help="quantized: min top-1 agreement (a segmenter's pixels, a detector's detections found again) "
        "in %% (default 99, int8 97)")  # fmt: skip
    add("--max-accuracy-drop", type=number(float, 0, "points of accuracy, at least 0"),
        help="quantized: max points lost (default 0.2, int8 1)")  # fmt: skip
    add("--timing-runs", type=number(int, 0, "at least 0 (0: no timing)"), default=report.EXPORT_TIMING_RUNS,
        help="runs per latency/throughput median")  # fmt: skip
    return p


def main(argv=None):
    parser = build_parser()
    job = ExportJob(**vars(parser.parse_args(argv)))
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        export.require(job.formats, tflite_metadata=job.tflite_metadata)  # before building, loading or converting anything
    except export.MissingExportDependencyError as exc:
        print(f"export.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problems = job.problems()
    if problems:
        parser.error("; ".join(problems) + ".")
    cli.import_backend()
    try:
        result, status = job.run(), 0
    except export.ExportVerificationError as exc:
        print(f"export.py: export check failed: {exc}", file=sys.stderr)
        result, status = exc.report, EXIT_EXPORT
    except (ValueError, OSError) as exc:  # FileNotFoundError is an OSError
        parser.error(str(exc))
    if result is not None:
        print(report.table(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
