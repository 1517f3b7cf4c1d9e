"""Reduced precision against float32 on real images: accuracy and top-1 agreement.

    python benchmarks/precision.py                      # TensorFlow (KERAS_BACKEND picks another)
    python benchmarks/precision.py --models resnet20 --limit 2000

The real CIFAR-10 ResNets (`weights="cifar10"`, from ../shared/data/cifar10-pretrained/ put
in the Keras cache) classify the 10,000 CIFAR-10 test images under each dtype policy;
written to benchmarks/results/precision-<backend>.md and .json. Speed of the same policies:
`apps/benchmark.py --precisions float32 bfloat16`.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets import weights as weights_lib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def cache_checkpoint(model):
    """The real checkpoint in the Keras cache, where `weights="cifar10"` finds it offline."""
    name = weights_lib.find(model, "cifar10").url.rsplit("/", 1)[1]
    folder = Path(weights_lib.cache_dir()) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / name).exists():
        shutil.copy(SHARED / "cifar10-pretrained" / name, folder / name)


def predictions(model_name, policy, images):
    keras.mixed_precision.set_global_policy(policy)
    model = kr.create_model(model_name, weights="cifar10", include_preprocessing=True)
    probs = model.predict(images, batch_size=500, verbose=0)
    keras.mixed_precision.set_global_policy("float32")
    return np.argmax(probs, axis=-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["resnet20", "resnet32", "resnet44", "resnet56"])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    parser.add_argument("--limit", type=int, help="first N test images (default: all 10,000)")
    args = parser.parse_args(argv)
    data = np.load(SHARED / "cifar10-test" / "cifar10_test_yoongikim_jpeg.npz")
    images, labels = data["x"][: args.limit].astype("float32"), data["y"][: args.limit]
    backend = keras.backend.backend()
    rows = []
    for model_name in args.models:
        cache_checkpoint(model_name)
        reference = predictions(model_name, "float32", images)
        for policy in args.policies:
            predicted = reference if policy == "float32" else predictions(model_name, policy, images)
            row = {
                "model": model_name,
                "policy": policy,
                "accuracy": float(np.mean(predicted == labels)),
                "top1_agreement_with_float32": float(np.mean(predicted == reference)),
                "images": int(len(labels)),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = [
        f"Backend {backend}; CIFAR-10 test set (JPEG), real akamaster weights.", "",
        "| model | policy | accuracy | top-1 agreement with float32 |", "|---|---|---:|---:|",
    ] + [
        f"| {r['model']} | {r['policy']} | {r['accuracy']:.2%} | {r['top1_agreement_with_float32']:.2%} |"
        for r in rows
    ]  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"precision-{backend}.json").write_text(json.dumps(rows, indent=2))
    (RESULTS / f"precision-{backend}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
