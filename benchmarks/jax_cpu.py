"""Where JAX's time goes on a CPU: our ResNet50-B under Keras' JAX backend, by XLA op.

    python benchmarks/jax_cpu.py                      # 224 px, batch 8 (about 5 min on 2 cores)
    python benchmarks/jax_cpu.py --image-size 112 --batch-size 16

1. speed: `predict_on_batch` and `train_on_batch` (SGD with momentum) under the JAX and the
   TensorFlow backends, each in a fresh process, and a bare `jax.jit` of the model's
   `stateless_call` (what Keras' JAX trainer wraps), medians.
2. profile: `jax.profiler` over a few steps of each; the trace's XLA op events (the thunks
   XLA's CPU runtime executes) summed by kind: convolutions, kernel flips and copies (XLA's
   CPU backend reverses kernels for the input gradient and copies between layouts), fusions
   (elementwise work and reductions, BatchNorm's among them), other XLA ops; and the host
   time outside them.

Writes benchmarks/results/jax_cpu.{json,md}. Run it alone on a quiet machine.
"""

import argparse
import collections
import glob
import gzip
import json
import statistics
import sys
import tempfile
import time

import cpu_profile  # benchmarks/ is this script's folder: the subprocess runner and options it shares

MODEL = "resnet50b"
KINDS = (  # (kind, substrings of XLA op names), first match wins
    ("YNNPACK fusions", ("ynn_fusion",)),
    ("convolution", ("convolution", "conv_general_dilated")),
    ("kernel flips and copies", ("reverse", "copy", "transpose", "bitcast")),
    ("fusions (elementwise, reductions)", ("fusion", "reduce", "add", "multiply", "select", "maximum")),
    ("dot", ("dot",)),
)
NOT_OPS = ("$", "ThunkExecutor", "profiler", "PjitFunction", "CommonPjRtLoadedExecutable")  # host spans


def model_and_data(batch, size):
    import keras
    import numpy as np

    import keras_resnets as kr

    model = kr.create_model(MODEL, weights=None, input_shape=(size, size, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    return model, rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32"), rng.integers(0, 1000, batch)


def steps(batch, size):
    import keras

    model, images, labels = model_and_data(batch, size)
    found = {"infer": lambda: model.predict_on_batch(images), "train": lambda: model.train_on_batch(images, labels)}
    if keras.backend.backend() == "jax":
        import jax

        call = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])

        def bare():  # the values read at each call: a training step donates the old buffers
            trainable = [v.value for v in model.trainable_variables]
            call(trainable, [v.value for v in model.non_trainable_variables], images).block_until_ready()

        found["infer: bare jax.jit"] = bare
    return found


def kind_of(name):
    return next((kind for kind, parts in KINDS if any(p in name for p in parts)), "other XLA ops")


def profile(mode, batch, size, count):
    import jax

    step = steps(batch, size)[mode]
    step()
    step()
    with tempfile.TemporaryDirectory() as logdir:
        jax.profiler.start_trace(logdir)
        began = time.perf_counter()
        for _ in range(count):
            step()
        wall = (time.perf_counter() - began) / count
        jax.profiler.stop_trace()
        (path,) = glob.glob(f"{logdir}/**/*.trace.json.gz", recursive=True)
        with gzip.open(path) as f:
            events = json.load(f)["traceEvents"]
    seconds, ops = collections.Counter(), collections.Counter()
    for event in events:
        name = event.get("name", "")
        if event.get("ph") != "X" or name.startswith(NOT_OPS):
            continue
        seconds[kind_of(name)] += event.get("dur", 0) / 1e6 / count
        ops[name.split(".")[0]] += event.get("dur", 0) / 1e6 / count
    return {"wall_s": wall, "op_thread_s": dict(seconds), "top_ops": ops.most_common(8)}


def worker(request):
    if request["kind"] == "speed":
        from keras_resnets.benchmark import hardware

        return {name: statistics.median(hardware.step_seconds(step, request["warmup"], request["repeats"])[1])
                for name, step in steps(request["batch"], request["image_size"]).items()}  # fmt: skip
    return profile(request["mode"], request["batch"], request["image_size"], request["steps"])


def in_subprocess(request, backend):
    return cpu_profile.in_subprocess(request, {"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}, __file__)


def markdown(result):
    args, batch = result["args"], result["args"]["batch_size"]
    lines = [
        f"# Where JAX's time goes on a CPU: `{MODEL}` under Keras' JAX backend", "",
        f"`{' '.join(['python benchmarks/jax_cpu.py', *result['argv']])}`", "",
        f"Machine: {result['machine']}; {args['image_size']} px, batch {batch}, float32. Run alone.", "",
        "## Speed (img/s, fresh process per backend, median)", "", "| call | JAX | TensorFlow |", "|---|---:|---:|",
    ]  # fmt: skip
    for name in result["speed"]["jax"]:
        tf_seconds = result["speed"]["tensorflow"].get(name)
        tf_cell = "-" if tf_seconds is None else f"{batch / tf_seconds:.2f}"
        lines.append(f"| {name} | {batch / result['speed']['jax'][name]:.2f} | {tf_cell} |")
    lines += ["", "## XLA op time by kind (thread seconds per step; wall seconds per step beside)", "",
              "| kind | inference | training |", "|---|---:|---:|"]  # fmt: skip
    kinds = [k for k, _ in KINDS] + ["other XLA ops"]
    for kind in kinds:
        cells = [f"{result['profiles'][mode]['op_thread_s'].get(kind, 0):.3f}" for mode in ("infer", "train")]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("| wall time of a step | " + " | ".join(
        f"{result['profiles'][mode]['wall_s']:.3f}" for mode in ("infer", "train")) + " |")
    lines += ["", "Largest XLA ops (thread seconds per step):", ""]
    for mode in ("infer", "train"):
        ops = ", ".join(f"{name} {seconds:.3f}" for name, seconds in result["profiles"][mode]["top_ops"][:6])
        lines.append(f"- {mode}: {ops}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = cpu_profile.timing_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    from keras_resnets.benchmark import hardware

    base = {"batch": args.batch_size, "image_size": args.image_size}
    result = {"machine": hardware.describe(), "argv": sys.argv[1:] if argv is None else argv,
              "args": {k: v for k, v in vars(args).items() if k not in ("output_dir", "worker")}}  # fmt: skip
    result["speed"] = {backend: in_subprocess({"kind": "speed", "warmup": args.warmup, "repeats": args.repeats,
                                               **base}, backend) for backend in ("jax", "tensorflow")}  # fmt: skip
    result["profiles"] = {mode: in_subprocess({"kind": "profile", "mode": mode, "steps": args.profile_steps, **base},
                                              "jax") for mode in ("infer", "train")}  # fmt: skip
    cpu_profile.write(result, markdown(result), args.output_dir / "jax_cpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
