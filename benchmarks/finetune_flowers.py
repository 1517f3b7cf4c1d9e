"""Benchmarks of apps/finetune.py on the full tf_flowers photos (../shared/data/flowers-full).

1. accuracy: ResNet18 trained from scratch (--weights none) at 128 px by the app itself;
   per-epoch wall time and test accuracy, against the ~60% that the TensorFlow
   image-classification tutorial's small CNN reaches on this data before augmentation
   (https://www.tensorflow.org/tutorials/images/classification).
2. pretrained: the offline main job, `make finetune` (OFFLINE_DEFAULT: the app from the real
   CIFAR-10 ResNet56 weights, placed in the Keras cache as the Makefile does), export included.
3. defaults: candidate settings for the offline main job (`make finetune`), each a real
   run of the app from real CIFAR-10 weights; the best test accuracy whose run takes about
   5 minutes or less on this 2-core CPU is what the Makefile runs.
4. throughput: training images/s of the default fine-tuning recipe (phase 2: ResNet50V2,
   top 2 stages unfrozen, BatchNorm in inference mode, AdamW) with our backbone versus
   the same model whose backbone comes from keras.applications.ResNet50V2, on the same
   batches, interleaved (ours, theirs, ours, ...) so that load from other processes
   hits both alike; the median over rounds is reported.

Writes benchmarks/results/finetune_flowers.{json,md}; existing parts are kept when only
one part is rerun (--part).

    python benchmarks/finetune_flowers.py                       # all parts (~50 min, 2 cores)
    python benchmarks/finetune_flowers.py --part throughput
    python benchmarks/finetune_flowers.py --part defaults       # ~35 min
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "flowers-full"
CIFAR_WEIGHTS = ROOT.parent / "shared" / "data" / "cifar10-pretrained"
RESULTS = ROOT / "benchmarks" / "results"
TUTORIAL_ACCURACY = 0.60


def app_run(args, run_name, options):
    """Runs apps/finetune.py on flowers-full; its metrics.json, condensed."""
    command = [
        sys.executable, str(ROOT / "apps" / "finetune.py"), "--data-dir", str(DATA),
        *options, "--batch-size", str(args.batch_size), "--run-name", run_name,
        "--output-dir", str(args.runs), "--overwrite", "--quiet",
    ]  # fmt: skip
    print(" ".join(command), flush=True)
    began = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - began
    with open(Path(args.runs) / run_name / "metrics.json") as f:
        metrics = json.load(f)
    test = metrics["splits"]["test"]["accuracy"]
    return {
        "command": " ".join(command[1:]),
        "test_accuracy": test,
        "val_accuracy": metrics["splits"]["val"]["accuracy"],
        "train_accuracy": metrics["splits"]["train"]["accuracy"],
        "tutorial_accuracy": TUTORIAL_ACCURACY,
        "points_above_tutorial": round(100 * (test - TUTORIAL_ACCURACY), 1),
        "epochs": [
            {
                "epoch": h["epoch"],
                "phase": h["phase"],
                "wall_s": round(h["epoch_time_s"], 1),
                "train_images_per_s": round(h["img/s"], 1),
                "val_accuracy": round(h["val_accuracy"], 4),
            }
            for h in metrics["history"]
        ],
        "total_wall_s": round(wall, 1),
        "dtype_policy": metrics["dtype_policy"],
        "counts": metrics["data"]["counts"],
        "export_checks": (metrics.get("export") or {}).get("checks"),
    }


def accuracy_part(args):
    options = [
        "--model", "resnet18", "--weights", "none", "--image-size", str(args.size),
        "--epochs", str(args.epochs), "--no-export",
    ] + (["--mixed-precision"] if args.mixed_precision else [])  # fmt: skip
    return app_run(args, f"bench-resnet18-scratch-{args.size}px", options)


def pretrained_part(args):
    """The offline main job: what `make finetune` runs."""
    cache_cifar_weights(OFFLINE_DEFAULT[1])
    return app_run(args, "bench-offline-default", list(OFFLINE_DEFAULT))


# What `make finetune` runs after --data-dir (the Makefile's FINETUNE_ARGS; a test keeps
# them equal): the best test accuracy of DEFAULT_CANDIDATES in about 5 minutes.
OFFLINE_DEFAULT = ("--model", "resnet56", "--weights", "cifar10", "--image-size", "48", "--unfreeze", "all")

# Candidates for `make finetune`: the model and input size set the cost per epoch, the
# rest how much of that budget goes to fine-tuning the whole net.
DEFAULT_CANDIDATES = (
    ("resnet20", "--image-size", "32"),
    ("resnet20", "--image-size", "64"),
    ("resnet20", "--image-size", "64", "--unfreeze", "all", "--epochs", "12"),
    ("resnet56", "--image-size", "32", "--unfreeze", "all", "--epochs", "12"),
    ("resnet56", "--image-size", "48", "--unfreeze", "all"),
    ("resnet20", "--image-size", "64", "--unfreeze", "all", "--epochs", "12", "--mixed-precision"),
)


def cache_cifar_weights(model):
    """Puts the real CIFAR-10 file in the Keras cache, as `make finetune` does."""
    from keras_resnets import weights as weights_lib

    name = weights_lib.find(model, "cifar10").url.rsplit("/", 1)[-1]
    cache = Path(weights_lib.cache_dir()) / "models"
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / name).exists():
        shutil.copy(CIFAR_WEIGHTS / name, cache / name)


def defaults_part(args):
    runs = []
    for model, *options in DEFAULT_CANDIDATES:
        cache_cifar_weights(model)
        name = "bench-default-" + "-".join([model, *(o.strip("-") for o in options)])
        run = app_run(args, name, ["--model", model, "--weights", "cifar10", "--no-export", *options])
        runs.append({"model": model, "options": " ".join(options), **run})
    return runs


def throughput_part(args):
    import keras
    import numpy as np

    import keras_resnets as kr
    from keras_resnets.tasks import classification
    from keras_resnets.tasks import classification_data as data
    from keras_resnets.training import RunConfig, recipe
    from keras_resnets.core import analysis

    source = data.load_folder(DATA)
    batches = data.pipeline(
        source.splits["train"], 5, args.throughput_size, args.throughput_batch, training=True
    )
    batches = [(x.numpy(), y.numpy()) for x, y in batches.take(args.steps)]
    keras.utils.set_random_seed(0)
    shape = (args.throughput_size, args.throughput_size, 3)
    backbones = {
        "keras_resnets": kr.create_model(
            "resnet50v2", weights=None, include_top=False, pooling="avg", input_shape=shape
        ),
        "keras.applications": keras.applications.ResNet50V2(
            include_top=False, weights=None, pooling="avg", input_shape=shape
        ),
    }
    # Same wrapper and head; only the backbone differs.
    models = {
        name: classification.classifier(backbone, 5, "tf", pretrained=True)
        for name, backbone in backbones.items()
    }
    phase = recipe.Phase("finetune", 0, 1, 1e-4, "2")
    task = classification.ClassificationTask(label_smoothing=0.1)
    rates = {"keras_resnets": [], "keras.applications": []}
    # CPU seconds of this process: much less sensitive than wall time to other jobs.
    cpu_rates = {"keras_resnets": [], "keras.applications": []}
    for model in models.values():
        recipe.compile_for(
            model, phase, args.steps, optimizer="adamw", warmup_epochs=0, weight_decay=0.05,
            **task.compile_args(RunConfig()),
        )  # fmt: skip
        for x, y in batches[:2]:  # trace and compile outside the timing
            model.train_on_batch(x, y)
    for _ in range(args.rounds):
        for name, model in models.items():
            began, cpu_began = time.perf_counter(), time.process_time()
            for x, y in batches:
                model.train_on_batch(x, y)
            images = len(batches) * args.throughput_batch
            rates[name].append(images / (time.perf_counter() - began))
            cpu_rates[name].append(images / (time.process_time() - cpu_began))
            print(f"{name}: {rates[name][-1]:.2f} img/s, {cpu_rates[name][-1]:.2f} img/CPU-s", flush=True)
    median = {name: float(np.median(r)) for name, r in rates.items()}
    # Other processes only ever slow a round down, so the best round is the least disturbed.
    best = {name: float(np.max(r)) for name, r in rates.items()}
    trainable = {name: analysis.trainable_params(m) for name, m in models.items()}
    return {
        "model": "resnet50v2, phase 2 of the default recipe (top 2 stages + head trainable)",
        "image_size": args.throughput_size,
        "batch_size": args.throughput_batch,
        "steps_per_round": len(batches),
        "rounds": args.rounds,
        "images_per_s": {name: [round(r, 2) for r in rs] for name, rs in rates.items()},
        "median_images_per_s": median,
        "best_images_per_s": best,
        "images_per_cpu_s": {name: [round(r, 2) for r in rs] for name, rs in cpu_rates.items()},
        "ratio_ours_over_keras_applications": {
            "median": round(median["keras_resnets"] / median["keras.applications"], 3),
            "best": round(best["keras_resnets"] / best["keras.applications"], 3),
            "median_per_cpu_s": round(
                float(np.median(cpu_rates["keras_resnets"]))
                / float(np.median(cpu_rates["keras.applications"])),
                3,
            ),
        },
        "trainable_params": trainable,
    }


def app_section(title, run):
    lines = [
        "",
        f"## {title}",
        "",
        f"`{run['command']}`",
        "",
        f"Data: {run['counts']} images (train/val/test from flowers-full/splits.csv); "
        f"dtype policy {run['dtype_policy']}.",
        "",
        f"**Test accuracy {run['test_accuracy']:.1%}** (val {run['val_accuracy']:.1%}, "
        f"train {run['train_accuracy']:.1%}) against ~{run['tutorial_accuracy']:.0%} for the "
        f"TensorFlow tutorial's small CNN: {run['points_above_tutorial']:+.1f} points. "
        f"Total wall time {run['total_wall_s'] / 60:.1f} min (including start-up, "
        "evaluation of all splits and export, if any).",
        "",
        "| epoch | phase | wall time (s) | train img/s | val accuracy |",
        "|---|---|---|---|---|",
    ]
    for e in run["epochs"]:
        lines.append(
            f"| {e['epoch']} | {e.get('phase', 'scratch')} | {e['wall_s']} | "
            f"{e['train_images_per_s']} | {e['val_accuracy']:.1%} |"
        )
    checks = run.get("export_checks") or {}
    if checks:
        lines += ["", "Export checks against the Keras model:"]
    for name, check in checks.items():
        lines.append(
            f"- {name}: max abs diff {check['max_abs_diff']:.1e}, top-1 agreement "
            f"{check['top1_agreement']:.0%} on {check['images']} test images"
        )
    return lines


def markdown(results):
    lines = ["# apps/finetune.py on flowers-full", ""]
    env = results["environment"]
    lines.append(
        f"Machine: {env['cpus']} CPU cores ({env['machine']}), shared with other jobs while "
        f"measured; backend {env['backend']}; written by `python benchmarks/finetune_flowers.py`."
    )
    titles = {
        "accuracy": "ResNet18 from scratch, 128 px",
        "pretrained": "The offline main job (`make finetune`)",
    }
    for part, title in titles.items():
        if results.get(part):
            lines += app_section(title, results[part])
    if results.get("defaults"):
        lines += [
            "",
            "## Candidates for the offline main job (`make finetune`)",
            "",
            "From the real CIFAR-10 weights; every other option is the app's default.",
            "",
            "| model | options | test accuracy | val accuracy | wall time (min) | train img/s (last epoch) |",
            "|---|---|---|---|---|---|",
        ]
        for run in results["defaults"]:
            lines.append(
                f"| {run['model']} | `{run['options']}` | {run['test_accuracy']:.1%} | "
                f"{run['val_accuracy']:.1%} | {run['total_wall_s'] / 60:.1f} | "
                f"{run['epochs'][-1]['train_images_per_s']} |"
            )
    thr = results.get("throughput")
    if thr:
        med = thr["median_images_per_s"]
        lines += [
            "",
            "## Training throughput: our backbone vs keras.applications",
            "",
            f"{thr['model']}, {thr['image_size']} px, batch {thr['batch_size']}, "
            f"{thr['steps_per_round']} steps x {thr['rounds']} interleaved rounds, same batches.",
            "",
            "| backbone | median img/s | best img/s | rounds |",
            "|---|---|---|---|",
        ]
        for name, rates in thr["images_per_s"].items():
            lines.append(
                f"| {name} | {med[name]:.2f} | {thr['best_images_per_s'][name]:.2f} | "
                f"{', '.join(map(str, rates))} |"
            )
        ratio = thr["ratio_ours_over_keras_applications"]
        lines += [
            "",
            f"Ratio ours / keras.applications: **{ratio['median']}** (medians), "
            f"**{ratio['best']}** (best rounds, the least disturbed by other processes), "
            f"**{ratio['median_per_cpu_s']}** (medians of images per CPU-second of the process).",
        ]
        for name, rates in thr["images_per_cpu_s"].items():
            lines.append(f"- {name} images per CPU-second: {', '.join(map(str, rates))}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--part", choices=("all", "accuracy", "pretrained", "defaults", "throughput"), default="all"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bfloat16 halves the step time on CPUs with AVX-512 BF16",
    )
    parser.add_argument("--runs", default=str(ROOT / "runs"))
    parser.add_argument("--throughput-size", type=int, default=224)
    parser.add_argument("--throughput-batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is missing (see ../shared/data/README.md).")
    import keras

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "finetune_flowers.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["environment"] = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
    }
    if args.part in ("all", "accuracy"):
        results["accuracy"] = accuracy_part(args)
    if args.part in ("all", "pretrained"):
        results["pretrained"] = pretrained_part(args)
    if args.part in ("all", "defaults"):
        results["defaults"] = defaults_part(args)
    if args.part in ("all", "throughput"):
        results["throughput"] = throughput_part(args)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "finetune_flowers.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
