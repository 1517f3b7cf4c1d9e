"""Why full int8 of the real CIFAR-10 ResNet56 agrees with float32 on only ~95% of answers.

    python benchmarks/int8_analysis.py                # about 10 min on 2 cores
    python benchmarks/int8_analysis.py --int16-images 300

The model (`weights="cifar10"`, preprocessing inside, the checkpoint copied into the Keras
cache as `benchmarks/export_accuracy.py` does) is converted from the same SavedModel as
`keras_resnets.export` converts it, calibrated on the first 300 CIFAR-10 test JPEGs, and
judged on the next --images ones (float input and output, so that every variant is
compared alike):

- int8: everything in int8 (TFLite's default full-integer conversion);
- the float model's top-1 margin on the images where int8 disagrees with it (near-ties?);
- per-layer error (`tf.lite.experimental.QuantizationDebugger`): RMSE of each quantized
  tensor in units of its quantization step (about 0.29 is pure rounding);
- int8 with the first convolution and the classifier kept in float, and with every
  residual addition kept in float (selective quantization);
- 16x8: int16 activations with int8 weights, on --int16-images (LiteRT runs it with
  reference kernels, hence slowly), with its milliseconds per image.

Writes benchmarks/results/int8_analysis.{json,md}.
"""

import argparse
import csv
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets import weights  # noqa: E402
from keras_resnets.export import artifacts, formats, runners  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
CHECKPOINT = SHARED / "cifar10-pretrained" / "resnet56-4bfd9763.th"
TEST_SET = SHARED / "cifar10-test" / "cifar10_test_yoongikim_jpeg.npz"
CALIBRATION = 300
# The layers kept in float by the selective variants, as TFLite names them.
FIRST_AND_LAST = ("conv1_conv", "predictions")


def converter(model, samples):
    """A full-integer converter of `model` (float input and output) calibrated on `samples`."""
    folder = tempfile.mkdtemp()
    artifacts.write_saved_model(model, folder)
    conv = tf.lite.TFLiteConverter.from_saved_model(folder)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
    return conv


def predictions(content, images):
    path = Path(tempfile.mkdtemp()) / "model.tflite"
    path.write_bytes(content)
    run = formats.load_runner(path)
    began = time.perf_counter()
    outputs = runners.run_batched(run, images)[0]
    return outputs, 1000 * (time.perf_counter() - began) / len(images)


def debugger(conv, samples, **options):
    return tf.lite.experimental.QuantizationDebugger(
        converter=conv, debug_dataset=lambda: ([samples[i : i + 1]] for i in range(len(samples))),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(**options) if options else None,
    )  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--int16-images", type=int, default=1000)
    args = parser.parse_args()
    cache = Path(weights.cache_dir()) / "models"
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / CHECKPOINT.name).exists():
        shutil.copy(CHECKPOINT, cache)
    data = np.load(TEST_SET)
    x, y = data["x"].astype("float32"), data["y"]
    calibration, images, labels = x[:CALIBRATION], x[CALIBRATION : CALIBRATION + args.images], y[CALIBRATION:][: args.images]
    model = kr.create_model("resnet56", weights="cifar10", include_preprocessing=True, input_shape=(32, 32, 3))
    reference = model.predict(images, batch_size=500, verbose=0)
    result = {"images": len(images), "calibration_images": CALIBRATION,
              "keras_accuracy": float((reference.argmax(1) == labels).mean()), "variants": {}}  # fmt: skip

    def judge(name, content, count=None):
        outputs, ms = predictions(content, images[:count])
        agree = outputs.argmax(1) == reference[:count].argmax(1)
        result["variants"][name] = {
            "images": len(outputs), "agreement": float(agree.mean()),
            "accuracy": float((outputs.argmax(1) == labels[:count]).mean()), "ms_per_image": ms,
        }  # fmt: skip
        print(name, result["variants"][name], flush=True)
        return agree

    agree = judge("int8", converter(model, calibration).convert())
    top2 = np.sort(reference, 1)[:, -2:]
    result["median_float_margin_where_int8_disagrees"] = float(np.median((top2[:, 1] - top2[:, 0])[~agree]))

    dbg = debugger(converter(model, calibration), calibration[:100])
    dbg.run()
    dump = io.StringIO()
    dbg.layer_statistics_dump(dump)
    steps = [
        float(row["mean_squared_error"]) ** 0.5 / float(row["scale"])
        for row in csv.DictReader(io.StringIO(dump.getvalue())) if float(row["scale"])
    ]  # fmt: skip
    result["error_in_steps"] = {"layers": len(steps), "median": float(np.median(steps)), "max": float(max(steps))}

    nodes = [d["name"] for d in tf.lite.Interpreter(model_content=converter(model, calibration[:20]).convert())
             .get_tensor_details() if any(f"{layer}_1/" in d["name"] for layer in FIRST_AND_LAST)]  # fmt: skip
    selective = debugger(converter(model, calibration), calibration[:20], denylisted_nodes=nodes)
    judge("int8, first convolution and classifier in float", selective.get_nondebug_quantized_model())
    additions = debugger(converter(model, calibration), calibration[:20], denylisted_ops=["ADD"])
    judge("int8, residual additions in float", additions.get_nondebug_quantized_model())

    conv = converter(model, calibration)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    judge("16x8 (int16 activations, int8 weights)", conv.convert(), args.int16_images)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "int8_analysis.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Full int8 of the real CIFAR-10 ResNet56 (`python benchmarks/int8_analysis.py`)", "",
        f"Calibrated on {CALIBRATION} CIFAR-10 test JPEGs, judged on the next {len(images)}; Keras "
        f"float32 accuracy on them {result['keras_accuracy']:.2%}.", "",
        f"- Median top-1 margin of the float model where int8 disagrees with it: "
        f"{result['median_float_margin_where_int8_disagrees']:.2f} (not near-ties).",
        f"- Per-layer error of the int8 model, in quantization steps: median "
        f"{result['error_in_steps']['median']:.2f}, max {result['error_in_steps']['max']:.2f} over "
        f"{result['error_in_steps']['layers']} tensors (pure rounding is about 0.29).", "",
        "| variant | images | top-1 agreement | accuracy | ms per image |", "|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name, v in result["variants"].items():
        lines.append(f"| {name} | {v['images']} | {v['agreement']:.2%} | {v['accuracy']:.2%} | {v['ms_per_image']:.1f} |")
    (RESULTS / "int8_analysis.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
