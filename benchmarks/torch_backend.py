"""Where Keras' PyTorch backend spends its time, against the same network in plain PyTorch.

    KERAS_BACKEND=torch python benchmarks/torch_backend.py          # ResNet50, 224 px, batch 8
    KERAS_BACKEND=torch python benchmarks/torch_backend.py --image-size 112 --rounds 3

1. speed: our `resnet50b` (torchvision's ResNet50 is the same network, ResNet-B) under the
   PyTorch backend in both Keras image layouts, channels_last (Keras' default: NHWC tensors,
   which the backend transposes to NCHW around every convolution) and channels_first, next to
   torchvision's model in plain PyTorch eager (channels_last memory format). Inference
   (`predict_on_batch` / `inference_mode`) and training steps (SGD with momentum), the
   implementations interleaved round by round so that other load hits all alike; medians.
2. profile: three training steps of each under `torch.profiler`, self CPU time per step in
   convolution, batch norm, layout copies (permute, contiguous, copy), optimizer and the rest.

Writes benchmarks/results/torch_backend.{json,md}. Run alone on a quiet machine.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets.benchmark import hardware  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
GROUPS = (  # (group, substrings of aten op names), first match wins
    ("convolution", ("conv",)),
    ("batch norm", ("batch_norm",)),
    ("layout copies", ("permute", "contiguous", "copy_", "clone", "transpose")),
    ("optimizer", ("sgd", "_foreach", "lerp")),
)


def keras_model(data_format, size):
    keras.config.set_image_data_format(data_format)
    try:
        shape = (3, size, size) if data_format == "channels_first" else (size, size, 3)
        model = kr.create_model("resnet50b", weights=None, input_shape=shape)
    finally:
        keras.config.set_image_data_format("channels_last")
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    return model


def implementations(size, batch):
    rng = np.random.default_rng(0)
    nhwc = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    labels = rng.integers(0, 1000, batch)
    steps = {}
    for data_format in ("channels_last", "channels_first"):
        model = keras_model(data_format, size)
        x = nhwc if data_format == "channels_last" else np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
        steps[f"keras_resnets, {data_format}"] = {
            "infer": lambda model=model, x=x: model.predict_on_batch(x),
            "train": lambda model=model, x=x: model.train_on_batch(x, labels),
        }
    import torchvision

    net = torchvision.models.resnet50().to(memory_format=torch.channels_last)
    images = torch.from_numpy(nhwc).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    targets = torch.from_numpy(labels)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def infer():
        net.eval()
        with torch.inference_mode():
            net(images).sum().item()

    def train():
        net.train()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(images), targets)
        loss.backward()
        optimizer.step()
        loss.item()

    steps["torchvision eager, channels_last memory"] = {"infer": infer, "train": train}
    return steps


def profile(step, steps=3):
    from torch.profiler import ProfilerActivity, profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    totals = dict.fromkeys([g for g, _ in GROUPS] + ["other"], 0.0)
    for event in prof.key_averages():
        name = event.key.lower()
        group = next((g for g, keys in GROUPS if any(k in name for k in keys)), "other")
        totals[group] += event.self_cpu_time_total / 1e6 / steps
    return {group: round(seconds, 3) for group, seconds in totals.items()}


def markdown(result):
    lines = [
        "# Keras' PyTorch backend against plain PyTorch (`benchmarks/torch_backend.py`)",
        "",
        f"{result['machine']}; torch {result['torch']}, keras {result['keras']}; ResNet50 "
        f"(ResNet-B) at {result['image_size']} px, batch {result['batch_size']}, float32, median of "
        f"{result['rounds']} interleaved rounds.",
        "",
        "| implementation | infer img/s | train img/s | train step vs torchvision |",
        "|---|---:|---:|---:|",
    ]
    speed = result["images_per_s"]
    base = speed["torchvision eager, channels_last memory"]["train"]
    for name, rates in speed.items():
        lines.append(f"| {name} | {rates['infer']:.1f} | {rates['train']:.1f} | {base / rates['train']:.2f}x |")
    groups = list(next(iter(result["profile"].values())))
    lines += [
        "",
        "Self CPU seconds per training step by kind of work (`torch.profiler`, mean of 3 steps):",
        "",
        "| implementation | " + " | ".join(groups) + " | total |",
        "|---|" + "---:|" * (len(groups) + 1),
    ]
    for name, seconds in result["profile"].items():
        lines.append(
            f"| {name} | " + " | ".join(f"{seconds[g]:.3f}" for g in groups) + f" | {sum(seconds.values()):.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "torch":
        parser.error("run with KERAS_BACKEND=torch")
    steps = implementations(args.image_size, args.batch_size)
    for modes in steps.values():  # build, trace and warm up outside the timing
        for step in modes.values():
            step()
            step()
    seconds = {(name, mode): [] for name, modes in steps.items() for mode in modes}
    for round_ in range(args.rounds):
        for name, modes in steps.items():
            for mode, step in modes.items():
                began = time.perf_counter()
                step()
                seconds[name, mode].append(time.perf_counter() - began)
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    result = {
        "machine": hardware.describe(),
        "torch": torch.__version__,
        "keras": keras.__version__,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "images_per_s": {
            name: {mode: args.batch_size / statistics.median(seconds[name, mode]) for mode in modes}
            for name, modes in steps.items()
        },
        "profile": {name: profile(modes["train"]) for name, modes in steps.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "torch_backend.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "torch_backend.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
