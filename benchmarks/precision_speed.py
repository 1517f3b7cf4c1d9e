"""Training and inference speed of float32 against mixed_bfloat16, steps interleaved.

    python benchmarks/precision_speed.py                   # ResNet18, 112 px, batch 16
    python benchmarks/precision_speed.py --model resnet50 --image-size 224

Both models are built and warmed up first, then their steps alternate, so that whatever
else the machine is doing slows both alike (on a shared machine that is the fair
comparison; `apps/benchmark.py` measures each configuration alone). Prints images/s.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402
from keras_resnets.benchmark import hardware  # noqa: E402

POLICIES = ("float32", "mixed_bfloat16")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape = (args.image_size, args.image_size, 3)
    images = rng.uniform(0, 255, (args.batch_size, *shape)).astype("float32")
    labels = rng.integers(0, 10, args.batch_size)
    models = {}
    for policy in POLICIES:
        keras.mixed_precision.set_global_policy(policy)
        model = kr.create_model(args.model, weights=None, input_shape=shape, classes=10)
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
        for _ in range(2):  # compile and warm up
            model.train_on_batch(images, labels)
            model.predict_on_batch(images)
        models[policy] = model
    seconds = {(p, mode): [] for p in POLICIES for mode in ("train", "infer")}
    for _ in range(args.rounds):
        for policy, model in models.items():
            for mode, step in (("train", lambda: model.train_on_batch(images, labels)),
                               ("infer", lambda: model.predict_on_batch(images))):  # fmt: skip
                start = time.perf_counter()
                step()
                seconds[policy, mode].append(time.perf_counter() - start)
    print(f"{hardware.describe()}; backend {keras.backend.backend()}; {args.model}, {args.image_size} px, "
          f"batch {args.batch_size}, median of {args.rounds} interleaved rounds")  # fmt: skip
    for (policy, mode), times in seconds.items():
        print(f"  {policy:15s} {mode:5s} {args.batch_size / np.median(times):7.1f} img/s")


if __name__ == "__main__":
    main()
