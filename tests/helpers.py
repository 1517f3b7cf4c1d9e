"""Plain helpers and constants shared by the test files (fixtures live in conftest.py).

Test files import from here, never from each other (test_hygiene.py checks it), and never
from conftest.py, which pytest loads by itself. conftest.py imports this module, so every
test run does: Keras, h5py and the apps are imported inside the helpers that need them,
and a test that builds no model starts without loading TensorFlow.
"""

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# Real data shared by the workplace, beside the repository (never copied into it).
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(folder):
    """Path of a shared data folder, or skip the test with the reason."""
    path = SHARED_DATA / folder
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the workplace's shared data ({folder}).")
    return path


# ------------------------------------------------------------------- models and images
def randomize_weights(model, seed=0):
    """Seeded random weights for every variable, BatchNorm statistics included.

    Drawn with NumPy in a fixed variable order, so the same seed gives the same
    weights on every backend.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "gamma" in variable.path:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        variable.assign(value.astype("float32"))
    return model


def letterboxed_photos(count, side):
    """The first `count` real COCO photos of detection-mini letterboxed to `side`, in whole
    pixels (as a camera gives)."""
    from PIL import Image

    from keras_resnets.tasks.letterbox import letterbox

    files = sorted((shared_data("detection-mini") / "images").glob("*.jpg"))[:count]
    photos = [letterbox(np.asarray(Image.open(f).convert("RGB")), side).numpy() for f in files]
    return np.round(np.stack(photos)).astype("float32")


def random_images(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


def logits(model, images):
    """The model's outputs in inference mode, as NumPy (a dict of them for dict outputs)."""
    import keras

    # Eager JAX compiles each layer on its first call; predict compiles the model once.
    # On the other backends the eager call is the faster of the two.
    if keras.backend.backend() == "jax":
        return model.predict(images, verbose=0)
    return keras.tree.map_structure(keras.ops.convert_to_numpy, model(images, training=False))


def cifar_images(count):
    """`count` real CIFAR-10 test images (JPEG round trip) spread over the set, and their labels."""
    data = np.load(shared_data("cifar10-test") / "cifar10_test_yoongikim_jpeg.npz")
    keep = np.linspace(0, len(data["y"]) - 1, count).astype(int)
    return data["x"][keep].astype("float32"), data["y"][keep]


# Tiny spec arguments of every block family (test_export.py exports each to every format).
TINY = dict(depths=(1, 1), widths=(8, 16), strides=(1, 2), stem="cifar", stem_width=8)
FAMILIES = {
    "basic": dict(TINY, block="basic"),
    "bottleneck": dict(TINY, block="bottleneck"),
    "preactivation": dict(TINY, block="basic", preact=True),
    "grouped": dict(TINY, block="bottleneck", groups=4, base_width=8),
    "se": dict(TINY, block="basic", attention="se"),
    "cbam": dict(TINY, block="basic", attention="cbam"),
    "dense": dict(TINY, block="dense", widths=(16, 16), growth_rates=(8, 8), use_bias=False),
    "dual_path": dict(TINY, block="dual_path", widths=(16, 32), growth_rates=(8, 8), groups=4, base_width=4),
    "highway": dict(TINY, block="basic", shortcut="highway"),
    "weighted": dict(TINY, block="basic", residual_weight=True),
}  # fmt: skip


# ------------------------------------------------------------ keras.applications files
def save_legacy_h5(model, path):
    """Writes the legacy Keras .h5 format of the official files."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return str(path)


def weighted_layer_names(model):
    return [layer.name for layer in model.layers if layer.weights]


# --------------------------------------------------------------- PyTorch references
# Trainable parameters of the torchvision/timm reference of each entrypoint (the
# convention both libraries report); test_torch_convert.py recomputes them live.
REFERENCE_PARAMS = {
    "resnet50b": 25_557_032,
    "resnet101b": 44_549_160,
    "resnet152b": 60_192_808,
    "resnet18d": 11_708_744,
    "resnet26d": 16_014_408,
    "resnet34d": 21_816_904,
    "resnet50d": 25_576_264,
    "resnet101d": 44_568_392,
    "resnet152d": 60_212_040,
    "wideresnet50_2": 68_883_240,
    "wideresnet101_2": 126_886_696,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "seresnet18": 11_779_624,
    "seresnet34": 21_960_416,
    "seresnet50": 28_088_024,
    "seresnet101": 49_326_872,
    "seresnet152": 66_821_848,
    "seresnext50_32x4d": 27_559_896,
    "seresnext101_32x4d": 48_955_416,
    "cbamresnet50": 28_073_576,
}
MISSING = [m for m in ("torch", "torchvision", "timm", "safetensors") if importlib.util.find_spec(m) is None]
needs_torch = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the PyTorch references need {', '.join(MISSING)} (pip install -r requirements-dev.txt)",
)


def run_reference(script, *args):
    """Runs tests/<script> (torch_reference.py or torch_reference_dense.py) in a torch-only
    process, without KERAS_BACKEND: torchvision crashes when imported after TensorFlow."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, str(TESTS / script), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def reference_folder(request, tmp_path_factory, script):
    """The files `script` writes, made once and kept in pytest's cache for the other backends'
    runs (keyed by the reference scripts' hash), or in a temporary folder without the cache."""
    sources = b"".join(path.read_bytes() for path in sorted(TESTS.glob("torch_reference*.py")))
    key = hashlib.sha256(sources).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)
    stem = Path(script).stem
    folder = cache.mkdir(f"{stem}_{key}") if cache else tmp_path_factory.mktemp(stem)
    # Parallel test workers (pytest-xdist) share the cache: one makes the files, the others wait.
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            run_reference(script, str(folder))
            (folder / "done").touch()
    return folder


def place_in_keras_cache(checkpoint):
    """Copies a real checkpoint into Keras' model cache as if downloaded: under a temporary
    name first, so that a parallel test worker never reads half a file."""
    from keras_resnets import weights

    folder = Path(weights._models_dir())
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{checkpoint.name}.{os.getpid()}"
    shutil.copy(checkpoint, partial)
    os.replace(partial, folder / checkpoint.name)


def reference_images(folder):
    """The references' fixed batch, channels last."""
    return np.load(folder / "images_nchw.npy").transpose(0, 2, 3, 1)


def reference_checkpoint(folder, name):
    return next(folder.glob(f"{name}.*"))  # .pth or .safetensors


# -------------------------------------------------------------------------- the apps
def load_app(name):
    """apps/<name>.py as a fresh module (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"app_{name}", ROOT / "apps" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_env(backend="tensorflow"):
    """The environment of an app run in a subprocess."""
    return {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}


def wait_for(predicate, timeout, process):
    """Returns once `predicate()` holds; fails if `process` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"run ended early:\n{process.communicate()[1][-3000:]}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def run_events(run_dir):
    """A run folder's TensorBoard events read back with TensorBoard's own reader, as
    {"train"/"validation": {tag: [(step, value)]}} (the folders there are): a scalar's value
    is a float, an image's (width, height) as its summary records them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    events = {}
    for name in ("train", "validation"):
        if not (run_dir / name).is_dir():
            continue
        reader = EventAccumulator(str(run_dir / name), size_guidance={"tensors": 0})  # 0: keep every event
        reader.Reload()
        tags = {}
        for tag in reader.Tags()["tensors"]:
            values = [(e.step, make_ndarray(e.tensor_proto)) for e in reader.Tensors(tag)]
            tags[tag] = [(s, (int(v[0]), int(v[1])) if v.dtype == object else float(v)) for s, v in values]
        events[name] = tags
    return events
