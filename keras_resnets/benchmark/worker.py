"""One measurement in this process: `python -m keras_resnets.benchmark.worker '<config json>'`.

Prints one JSON line: the configuration, build and first-step seconds (tracing and
compilation included), the median images/s and ms per batch of the timed steps, peak
memory and the model's MACs per image. (The machine's peak is measured once per run, by
`peak`, not here.)
"""

import json
import resource
import statistics
import sys
import time

import numpy as np

from keras_resnets.benchmark import hardware
from keras_resnets.benchmark.peers import OURS, TORCHVISION_DETECTORS, TORCHVISION_TASK_MODELS, is_torch, peer_name


def keras_steps(config):
    """(infer or train step, MACs per image, device) for our model or keras.applications'."""
    import keras

    import keras_resnets as kr
    from keras_resnets.core import analysis

    if config["precision"] == "bfloat16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    shape = (config["image_size"], config["image_size"], 3)
    name = peer_name(config["model"], config["implementation"])
    if config["implementation"] in OURS:
        model = kr.create_model(name, weights=None, input_shape=shape)
        if config["implementation"] == "ours_folded":
            model = kr.fold_batchnorm(model)
    else:
        model = getattr(keras.applications, name)(weights=None, input_shape=shape)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (config["batch_size"], *shape)).astype("float32")
    jit_compile = True if config.get("jit_compile") else "auto"
    if config["mode"] == "infer":
        model.compile(jit_compile=jit_compile)
        step = lambda: model.predict_on_batch(images)  # noqa: E731 (returns NumPy: synchronised)
    else:
        labels = rng.integers(0, model.output.shape[-1], config["batch_size"])
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            jit_compile=jit_compile,
        )
        step = lambda: model.train_on_batch(images, labels)  # noqa: E731
    return step, analysis.count_macs(model), _keras_device()


def _keras_device():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend()
    if keras.backend.backend() == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def torch_steps(config):
    """(step, None, device) for timm's or torchvision's model in plain PyTorch, channels_last."""
    import torch

    name = peer_name(config["model"], config["implementation"])
    if config["implementation"].startswith("timm"):
        import timm

        model = timm.create_model(name)
    else:
        import torchvision

        options = {"weights_backbone": None} if name in TORCHVISION_TASK_MODELS else {}
        if name in TORCHVISION_DETECTORS:
            options.update(min_size=config["image_size"], max_size=config["image_size"])
        model = torchvision.models.get_model(name, **options)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).to(memory_format=torch.channels_last)
    size, batch = config["image_size"], config["batch_size"]
    images = torch.randn(batch, 3, size, size, device=device).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,), device=device)
    runnable = torch.compile(model) if config["implementation"].endswith("_compile") else model
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=config["precision"] == "bfloat16")
    if config["mode"] == "infer":
        model.eval()

        def step():
            with torch.inference_mode(), autocast:
                _total(runnable(images)).item()  # .item() waits for the device

    else:
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss = loss_fn(runnable(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()

    return step, None, "gpu" if device == "cuda" else "cpu"


def _total(outputs):
    """One number from a classifier's logits, a segmenter's {"out": ...} or a detector's list."""
    if isinstance(outputs, dict):
        outputs = outputs["out"]
    if isinstance(outputs, list):
        return sum(o["scores"].float().sum() for o in outputs)
    return outputs.float().sum()


def peak_memory_mb(device, implementation):
    if device == "gpu" and is_torch(implementation):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    if device == "gpu":
        import jax

        return jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(config):
    start = time.perf_counter()
    step, macs, device = (torch_steps if is_torch(config["implementation"]) else keras_steps)(config)
    build_s = time.perf_counter() - start
    first_s, times = hardware.step_seconds(step, config["warmup"], config["repeats"])
    median_s = statistics.median(times)
    return {
        **config,
        "device": device,
        "build_s": build_s,
        "first_step_s": first_s,
        "ms_per_batch": 1000 * median_s,
        "images_per_s": config["batch_size"] / median_s,
        "peak_memory_mb": peak_memory_mb(device, config["implementation"]),
        "macs_per_image": macs,
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
