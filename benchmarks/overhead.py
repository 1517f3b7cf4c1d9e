"""No overhead: our ResNet50/ResNet50V2 against keras.applications' on the TensorFlow backend.

Measures, in one run, the build time and the batch-16 inference throughput (compiled
`predict_on_batch`, 224 px) of both, interleaving the two so that load on the machine
hits them alike. Writes benchmarks/results/overhead.md (and .json).

    python benchmarks/overhead.py [--repeats 7] [--batches 3]
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402

PAIRS = {
    "ResNet50": (kr.ResNet50, keras.applications.ResNet50),
    "ResNet50V2": (kr.ResNet50V2, keras.applications.ResNet50V2),
}
RESULTS = Path(__file__).parent / "results"


def build_seconds(fn):
    keras.utils.clear_session()
    start = time.perf_counter()
    model = fn(weights=None)
    return time.perf_counter() - start, model


def images_per_second(model, batch, batches):
    images = np.random.default_rng(0).uniform(-1, 1, (batch, 224, 224, 3)).astype("float32")
    model.predict_on_batch(images)  # compile and warm up
    start = time.perf_counter()
    for _ in range(batches):
        model.predict_on_batch(images)
    return batch * batches / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating measurements of each model")
    parser.add_argument("--batches", type=int, default=3, help="timed batches per measurement")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    rows = []
    for name, (ours_fn, theirs_fn) in PAIRS.items():
        samples = {"ours": {"build": [], "ips": []}, "keras.applications": {"build": [], "ips": []}}
        for round_ in range(args.repeats):
            order = [("ours", ours_fn), ("keras.applications", theirs_fn)]
            # ABBA: each goes first in half of the rounds.
            for who, fn in order if round_ % 2 == 0 else order[::-1]:
                seconds, model = build_seconds(fn)
                samples[who]["build"].append(seconds)
                samples[who]["ips"].append(images_per_second(model, args.batch_size, args.batches))
                print(f"{name:11s} {who:18s} build {seconds:5.2f} s  {samples[who]['ips'][-1]:6.1f} img/s", flush=True)
        med = {who: {k: statistics.median(v) for k, v in s.items()} for who, s in samples.items()}
        rows.append(
            {
                "model": name,
                "build_s": {w: round(m["build"], 3) for w, m in med.items()},
                "images_per_s": {w: round(m["ips"], 2) for w, m in med.items()},
                "throughput_ratio": round(med["ours"]["ips"] / med["keras.applications"]["ips"], 3),
                # Best rounds: the least disturbed by other load; the spread shows the noise.
                "best_throughput_ratio": round(
                    max(samples["ours"]["ips"]) / max(samples["keras.applications"]["ips"]), 3
                ),
                "images_per_s_range": {
                    w: [round(min(s["ips"]), 2), round(max(s["ips"]), 2)] for w, s in samples.items()
                },
                "build_ratio": round(med["ours"]["build"] / med["keras.applications"]["build"], 3),
            }
        )

    meta = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "batches": args.batches,
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# Overhead: keras_resnets vs keras.applications",
        "",
        f"`python benchmarks/overhead.py`, {meta['date']}, {meta['backend']} backend, keras {meta['keras']}, "
        f"{meta['machine']}; batch {args.batch_size} at 224 px, compiled `predict_on_batch`; medians of "
        f"{args.repeats} alternating measurements of {args.batches} batches.",
        "",
        "| model | build s (ours / keras) | median img/s (ours / keras) | img/s range (ours; keras) "
        "| throughput ratio (median; best) | build-time ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['build_s']['ours']} / {r['build_s']['keras.applications']} | "
            f"{r['images_per_s']['ours']} / {r['images_per_s']['keras.applications']} | "
            f"{r['images_per_s_range']['ours']}; {r['images_per_s_range']['keras.applications']} | "
            f"{r['throughput_ratio']}; {r['best_throughput_ratio']} | {r['build_ratio']} |"
        )
    lines += [
        "",
        "Both models are the same graph (every layer's config is equal, which",
        "`tests/test_keras_compat.py` checks), so a ratio away from 1.0 is the machine's noise, which",
        "the img/s ranges show.",
    ]
    (RESULTS / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
