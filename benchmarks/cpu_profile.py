"""Where a CPU's time goes in a ResNet50-B step: ours on TensorFlow against timm in eager PyTorch.

    python benchmarks/cpu_profile.py                   # 224 px, batch 8 and 32 (about 15 min on 2 cores)
    python benchmarks/cpu_profile.py --batch-sizes 8 --rounds 1

1. settings: our inference (BatchNorm folded, as `apps/predict.py` runs it) and training step
   at the first batch size, each in a fresh process, under TensorFlow's own CPU options: oneDNN
   (`TF_ENABLE_ONEDNN_OPTS` 0 and 1; TensorFlow turns it on by itself only on CPUs with
   AVX512-VNNI/BF16 or AMX) and inter-op threads (TensorFlow's default, one per core, and 1).
   Rounds interleaved; medians.
2. overhead: Keras' `predict_on_batch` / `train_on_batch` against the bare compiled call
   (`tf.function` of the model's call, and of a GradientTape step with the same optimizer).
3. profile: each framework's own profiler over a few steps at every batch size, self time per
   kind of op: TensorFlow's profiler (the XSpace's framework op statistics) for ours,
   `torch.profiler` for timm. Times are summed over the threads that ran ops, idle included
   where the profiler records it, so shares, not sums, compare across frameworks.

Writes benchmarks/results/cpu_profile.{json,md}. Run it alone on a quiet machine.
"""

import argparse
import collections
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
MODEL = "resnet50b"  # timm's resnet50 is this network (ResNet-B: stride in the 3x3)
# (group, TensorFlow op types or substrings of PyTorch's aten op names); first match wins.
TF_GROUPS = (
    ("convolution forward", {"Conv2D", "_FusedConv2D"}),
    ("convolution backward", {"Conv2DBackpropInput", "Conv2DBackpropFilter"}),
    ("batch norm", {"FusedBatchNormV3", "FusedBatchNormGradV3"}),
    ("elementwise and reductions", {"Mul", "Tile", "SquaredDifference", "Mean", "Sum", "Sub", "Rsqrt", "AddV2",
                                    "AddN", "BroadcastTo", "ReluGrad", "Relu", "RealDiv", "Square"}),
    ("pooling", {"MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad"}),
    ("layout copies", {"Transpose", "Pad", "Slice", "ConcatV2"}),
    ("optimizer", {"ResourceApplyKerasMomentum", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
                   "ReadVariableOp"}),
    ("idle", {"IDLE"}),
)
TORCH_GROUPS = (
    ("convolution backward", ("convolution_backward",)),
    ("convolution forward", ("conv",)),
    ("batch norm", ("batch_norm",)),
    ("elementwise and reductions", ("add", "mul", "relu", "threshold", "sum", "mean", "div", "fill", "zero")),
    ("pooling", ("pool",)),
    ("layout copies", ("copy_", "contiguous", "permute", "transpose", "pad", "slice", "cat")),
    ("optimizer", ("sgd", "_foreach", "lerp")),
)


# ---------------------------------------------------------------- in a fresh process
def keras_model(batch, image_size, fold):
    import keras
    import numpy as np

    import keras_resnets as kr

    model = kr.create_model(MODEL, weights=None, input_shape=(image_size, image_size, 3))
    if fold:
        model = kr.fold_batchnorm(model)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch, image_size, image_size, 3)).astype("float32")
    labels = rng.integers(0, 1000, batch)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    return model, images, labels


def keras_step(mode, batch, image_size):
    model, images, labels = keras_model(batch, image_size, fold=mode == "infer")
    if mode == "infer":
        return lambda: model.predict_on_batch(images)
    return lambda: model.train_on_batch(images, labels)


def bare_steps(batch, image_size):
    """{name: step}: Keras' calls and the bare compiled calls they wrap."""
    import keras
    import tensorflow as tf

    folded, images, labels = keras_model(batch, image_size, fold=True)
    model, _, _ = keras_model(batch, image_size, fold=False)
    x, y = tf.constant(images), tf.constant(labels)
    call = tf.function(lambda t: folded(t, training=False))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    model.optimizer.build(model.trainable_variables)

    @tf.function
    def train(t, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(t, training=True))
        model.optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    return {
        "infer: predict_on_batch": lambda: folded.predict_on_batch(images),
        "infer: compiled call": lambda: call(x).numpy(),
        "train: train_on_batch": lambda: model.train_on_batch(images, labels),
        "train: compiled GradientTape step": lambda: float(train(x, y)),
    }


def timm_step(mode, batch, image_size):
    import timm
    import torch

    model = timm.create_model("resnet50").to(memory_format=torch.channels_last)
    images = torch.randn(batch, 3, image_size, image_size).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,))
    if mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                model(images).sum().item()

        return step
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(images), labels).backward()
        optimizer.step()

    return step


def median_seconds(step, warmup, repeats):
    from keras_resnets.benchmark import hardware

    return statistics.median(hardware.step_seconds(step, warmup, repeats)[1])


def grouped(rows, groups, match):
    found = collections.Counter()
    for name, seconds in rows:
        group = next((g for g, names in groups if match(name, names)), "other")
        found[group] += seconds
    total = sum(found.values())
    return {"total_thread_s": total, "shares": {g: s / total for g, s in found.most_common()},
            "top_ops": sorted(rows, key=lambda r: -r[1])[:8]}  # fmt: skip


def tf_profile(mode, batch, image_size, steps):
    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    step = keras_step(mode, batch, image_size)
    step()
    step()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        (xspace,) = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
        data, ok = plugin.xspace_to_tools_data([xspace], "framework_op_stats", {})
    if not ok:
        raise RuntimeError("TensorFlow's profiler gave no op statistics")
    table = json.loads(data)[0]
    ids = [c["id"] for c in table["cols"]]
    rows = collections.Counter()
    for row in table["rows"]:
        cells = dict(zip(ids, (c.get("v") for c in row["c"])))
        rows[cells["type"]] += cells["total_self_time"] / 1e6 / steps
    return grouped(list(rows.items()), TF_GROUPS, lambda name, names: name in names)


def torch_profile(mode, batch, image_size, steps):
    import torch

    step = timm_step(mode, batch, image_size)
    step()
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        for _ in range(steps):
            step()
    rows = [(e.key, e.self_cpu_time_total / 1e6 / steps) for e in profile.key_averages() if e.self_cpu_time_total > 0]
    return grouped(rows, TORCH_GROUPS, lambda name, names: any(n in name for n in names))


def worker(request):
    kind, mode, batch, size = request["kind"], request["mode"], request["batch"], request["image_size"]
    if kind == "speed":
        step = (timm_step if request["framework"] == "timm" else keras_step)(mode, batch, size)
        return {"seconds": median_seconds(step, request["warmup"], request["repeats"])}
    if kind == "overhead":
        return {name: median_seconds(step, request["warmup"], request["repeats"])
                for name, step in bare_steps(batch, size).items()}  # fmt: skip
    profile = tf_profile if request["framework"] == "ours" else torch_profile
    return profile(mode, batch, size, request["steps"])


# ---------------------------------------------------------------- the run
def in_subprocess(request, env=None, script=__file__, timeout_s=1800):
    """`script --worker request`'s last printed JSON line, in a fresh process (TensorFlow
    unless `env` names another backend)."""
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    done = subprocess.run([sys.executable, script, "--worker", json.dumps(request)], env=environment,
                          capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise RuntimeError(f"{request}: {done.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


SETTINGS = {  # name: (environment, inter-op threads or None for TensorFlow's default)
    "default": ({}, None),
    "inter-op 1": ({}, 1),
    "oneDNN on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, None),
    "oneDNN on, inter-op 1": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, 1),
}


def settings(batch, size, rounds, warmup, repeats):
    times = collections.defaultdict(list)
    for _ in range(rounds):
        for mode in ("infer", "train"):
            for name, (env, inter_op) in SETTINGS.items():
                request = {"kind": "speed", "framework": "ours", "mode": mode, "batch": batch, "image_size": size,
                           "warmup": warmup, "repeats": repeats, "inter_op": inter_op}  # fmt: skip
                times[f"{mode}|{name}"].append(in_subprocess(request, env)["seconds"])
            request = {"kind": "speed", "framework": "timm", "mode": mode, "batch": batch, "image_size": size,
                       "warmup": warmup, "repeats": repeats}  # fmt: skip
            times[f"{mode}|timm eager"].append(in_subprocess(request)["seconds"])
    return {key: batch / statistics.median(values) for key, values in times.items()}


def markdown(result):
    machine, args = result["machine"], result["args"]
    batch = args["batch_sizes"][0]
    lines = [
        f"# Where a CPU's time goes: ours (`{MODEL}`, TensorFlow) against timm `resnet50` (eager PyTorch)", "",
        f"`{' '.join(['python benchmarks/cpu_profile.py', *result['argv']])}`", "",
        f"Machine: {machine}; {args['image_size']} px, float32, SGD with momentum. Run alone.", "",
        f"## TensorFlow's CPU options (img/s, batch {batch}, median of {args['rounds']} rounds, fresh processes)", "",
        "| setting | inference (folded) | training |", "|---|---:|---:|",
    ]  # fmt: skip
    for name in [*SETTINGS, "timm eager"]:
        lines.append(f"| {name} | {result['settings'][f'infer|{name}']:.2f} | {result['settings'][f'train|{name}']:.2f} |")
    lines += ["", f"## Keras' calls against the bare compiled calls (ms per batch of {batch})", "",
              "| call | ms |", "|---|---:|"]  # fmt: skip
    lines += [f"| {name} | {1000 * seconds:.0f} |" for name, seconds in result["overhead"].items()]
    lines += ["", "## Self time by kind of op (share of the thread time the profiler recorded)", ""]
    groups = [g for g, _ in TF_GROUPS] + ["other"]
    header = [f"{who} {mode} @{b}" for b in args["batch_sizes"] for mode in ("infer", "train") for who in ("ours", "timm")]
    lines += ["| kind | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    for group in groups:
        cells = []
        for b in args["batch_sizes"]:
            for mode in ("infer", "train"):
                for who in ("ours", "timm"):
                    share = result["profiles"][f"{who}|{mode}|{b}"]["shares"].get(group)
                    cells.append("-" if share is None else f"{share:.1%}")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines += ["", "Thread seconds per step: " + ", ".join(
        f"{key.replace('|', ' ')} {p['total_thread_s']:.2f} s" for key, p in result["profiles"].items()) + "."]
    lines += ["", "Largest ops (thread seconds per step):", ""]
    for key, profile in result["profiles"].items():
        ops = ", ".join(f"{name} {seconds:.3f}" for name, seconds in profile["top_ops"][:6])
        lines.append(f"- {key.replace('|', ' ')}: {ops}")
    return "\n".join(lines) + "\n"


def timing_options(parser):
    """The options this benchmark and `jax_cpu.py` share."""
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile-steps", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    parser = timing_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if args.worker:
        request = json.loads(args.worker)
        if request.get("inter_op"):
            import tensorflow as tf

            tf.config.threading.set_inter_op_parallelism_threads(request["inter_op"])
        if request.get("framework") == "timm":
            import torch  # noqa: F401 (before TensorFlow: torchvision after TensorFlow crashes)
        print(json.dumps(worker(request)))
        return 0
    from keras_resnets.benchmark import hardware

    began = time.perf_counter()
    batch, size = args.batch_sizes[0], args.image_size
    result = {"machine": hardware.describe(), "args": {k: v for k, v in vars(args).items() if k != "output_dir"}}
    result["argv"] = sys.argv[1:] if argv is None else argv
    result["args"].pop("worker")
    print("settings ...", flush=True)
    result["settings"] = settings(batch, size, args.rounds, args.warmup, args.repeats)
    print("overhead ...", flush=True)
    request = {"kind": "overhead", "mode": None, "batch": batch, "image_size": size, "warmup": args.warmup,
               "repeats": args.repeats}  # fmt: skip
    result["overhead"] = in_subprocess(request)
    result["profiles"] = {}
    for b in args.batch_sizes:
        for mode in ("infer", "train"):
            for who in ("ours", "timm"):
                print(f"profile {who} {mode} @{b} ...", flush=True)
                request = {"kind": "profile", "framework": who, "mode": mode, "batch": b, "image_size": size,
                           "steps": args.profile_steps}  # fmt: skip
                result["profiles"][f"{who}|{mode}|{b}"] = in_subprocess(request)
    result["wall_s"] = time.perf_counter() - began
    write(result, markdown(result), args.output_dir / "cpu_profile")
    return 0


def write(result, table, stem):
    """`stem`.json (every number) and `stem`.md (`table`, also printed)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    sys.exit(main())
