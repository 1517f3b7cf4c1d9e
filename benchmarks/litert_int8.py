"""Whether int8 runs faster than float32 in LiteRT on this CPU, and whether XNNPACK runs both.

    python benchmarks/litert_int8.py                  # ResNet18, 112 px (about 30 s on 2 cores)
    python benchmarks/litert_int8.py --model resnet50 --image-size 224   # about 75 s

Our model (seeded random weights: only speed is measured) written as float32 and full-int8
TFLite files by the export's own writer (int8 calibrated on random images), each timed at
batch 1 with every core, with LiteRT's default delegate (XNNPACK) and without it
(`BUILTIN_WITHOUT_DEFAULT_DELEGATES`), beside the CPU's int8 dot-product flags (AVX-VNNI,
AVX512-VNNI): without them an 8-bit multiply-add is no faster than a float32 FMA.
Writes benchmarks/results/litert_int8.{json,md}.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
VNNI_FLAGS = ("avx_vnni", "avx512_vnni", "amx_int8")


def latency_ms(path, delegate, image_size, runs):
    from ai_edge_litert import interpreter as litert

    from keras_resnets.benchmark import hardware

    resolver = litert.OpResolverType.AUTO if delegate else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = litert.Interpreter(model_path=str(path), num_threads=os.cpu_count(),
                                     experimental_op_resolver_type=resolver)  # fmt: skip
    (details,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(details["index"], [1, image_size, image_size, 3])
    interpreter.allocate_tensors()
    image = np.zeros((1, image_size, image_size, 3), details["dtype"])

    def step():
        interpreter.set_tensor(details["index"], image)
        interpreter.invoke()

    return 1000 * statistics.median(hardware.step_seconds(step, 2, runs)[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import keras_resnets as kr
    from keras_resnets.benchmark import hardware
    from keras_resnets.export import artifacts

    model = kr.create_model(args.model, weights=None, input_shape=(args.image_size, args.image_size, 3))
    calibration = np.random.default_rng(0).uniform(-1, 1, (16, args.image_size, args.image_size, 3)).astype("float32")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, artifacts.serving_archives():
        files = {"float32": Path(tmp) / "model.tflite", "int8": Path(tmp) / "model_int8.tflite"}
        artifacts.write_tflite(model, files["float32"])
        artifacts.write_tflite(model, files["int8"], quantize="int8", representative_data=calibration)
        for name, path in files.items():
            rows[name] = {delegate: latency_ms(path, delegate == "XNNPACK", args.image_size, args.runs)
                          for delegate in ("XNNPACK", "no delegate")}  # fmt: skip
    flags = hardware.cpu_flags()
    result = {"machine": hardware.describe(), "argv": sys.argv[1:] if argv is None else argv,
              "int8_dot_product_flags": sorted(f for f in VNNI_FLAGS if f in flags), "threads": os.cpu_count(),
              "latency_ms": rows}  # fmt: skip
    lines = [
        f"# int8 against float32 in LiteRT: `{args.model}` at {args.image_size} px, batch 1", "",
        f"`{' '.join(['python benchmarks/litert_int8.py', *result['argv']])}`", "",
        f"Machine: {result['machine']}; int8 dot-product flags: "
        f"{', '.join(result['int8_dot_product_flags']) or 'none'}; {os.cpu_count()} threads.", "",
        "| file | XNNPACK ms | no delegate ms |", "|---|---:|---:|",
        *(f"| {name} | {r['XNNPACK']:.2f} | {r['no delegate']:.2f} |" for name, r in rows.items()),
        "", f"int8 / float32 speed with XNNPACK: {rows['float32']['XNNPACK'] / rows['int8']['XNNPACK']:.2f}x.",
    ]  # fmt: skip
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "litert_int8.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.output_dir / "litert_int8.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
