"""PyTorch checkpoints (torchvision `.pth`, timm `.safetensors`) into our Keras layers.

Reading: `read_checkpoint(path)` returns `{name: numpy array}`; safetensors files are
read with `safetensors.numpy` (no torch needed), `.pth`/`.pt`/`.bin` with `torch.load`
(imported only then).

A family's mapping (the interface other families plug into):

    MAPPINGS[family] = fn(tensors, model, spec) -> [(layer_name, [arrays]), ...]

`tensors` is a `Tensors` (the state dict; `take(key)` hands a tensor over and records
it); `model` is the built Keras model, `spec` its `Spec`; each array list is in the
order of `model.get_layer(layer_name).get_weights()`, already in Keras layout. Most
families only need to name, for each of our layers, the PyTorch module it comes from:
`by_prefix(fn(layer_name, spec) -> prefix or None)` builds the mapping from that, and
`Tensors.for_layer` does the layout changes by layer type (Conv2D: OIHW -> HWIO, grouped
too; BatchNormalization: weight, bias, running_mean, running_var; Dense: transposed).
`spec.family` picks the mapping.

Loading is strict (`convert`): tensors the mapping did not use, tensors it asked for
that are absent, layers with weights that got none, and shape mismatches are all
reported together in one `CheckpointMismatchError`, and nothing is assigned unless
everything fits. Only `num_batches_tracked` counters are ignored, and the classifier
tensors (`head_keys`) when the model has no classifier.

`weights.LOADERS["torchvision"]` and `["timm"]` fetch a table row's checkpoint, convert
it once and cache the result beside it as `<checkpoint>.<model>[_notop].weights.h5`,
so later loads are plain Keras loads (`cached_weights_path`).
"""

import os
import re

import keras
import numpy as np

from keras_resnets import weights as weights_lib

# Torch bookkeeping that has no Keras counterpart.
IGNORED = re.compile(r"(^|\.)num_batches_tracked$")


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit a model; the message names every offending tensor."""


def read_checkpoint(path):
    """`{name: float32 numpy array}` from a `.safetensors` or a torch `.pth/.pt/.bin` file."""
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file
        except ImportError as exc:
            raise ImportError(
                "Reading .safetensors needs the `safetensors` package: pip install safetensors"
            ) from exc
        state = load_file(path)
    else:
        state = _read_torch(path)
    return {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}


def _read_torch(path):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"Reading {os.path.basename(path)} (a torch pickle) needs PyTorch; convert it "
            "to .safetensors elsewhere, or pip install torch."
        ) from exc
    state = torch.load(path, map_location="cpu", weights_only=True)
    # Training scripts often wrap the weights in a dict; DataParallel prefixes "module.".
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return {k: v.detach().float().numpy() for k, v in state.items() if hasattr(v, "numpy")}


class Tensors:
    """A state dict that remembers which tensors were used and which were missing."""

    def __init__(self, state_dict):
        self.state = {k: v for k, v in state_dict.items() if not IGNORED.search(k)}
        self.used = set()
        self.missing = []

    def has(self, key):
        return key in self.state

    def take(self, key):
        """The tensor `key`, or None (recorded as missing) when the checkpoint lacks it."""
        if key not in self.state:
            self.missing.append(key)
            return None
        self.used.add(key)
        return self.state[key]

    def discard(self, keys):
        """Marks tensors as deliberately unused (e.g. the classifier of a notop model)."""
        self.used.update(k for k in keys if k in self.state)

    def unused(self):
        return sorted(set(self.state) - self.used)

    def for_layer(self, layer, prefix):
        """The arrays of `layer` (in `get_weights()` order) from the module at `prefix`."""
        if isinstance(layer, keras.layers.BatchNormalization):
            keys = ["weight", "bias", "running_mean", "running_var"]
            return [self.take(f"{prefix}.{k}") for k in keys]
        if isinstance(layer, keras.layers.Conv2D):
            arrays = [_transposed(self.take(f"{prefix}.weight"), (2, 3, 1, 0))]
            if layer.use_bias:
                arrays.append(self.take(f"{prefix}.bias"))
            return arrays
        if isinstance(layer, keras.layers.Dense):
            arrays = [_transposed(self.take(f"{prefix}.weight"), (1, 0))]
            if layer.use_bias:
                arrays.append(self.take(f"{prefix}.bias"))
            return arrays
        raise TypeError(
            f"No torch layout is known for layer {layer.name!r} ({type(layer).__name__}); "
            "give its arrays in the mapping directly."
        )


def _transposed(tensor, axes):
    # A tensor of another rank is left as it is, for the shape check to report.
    if tensor is None or tensor.ndim != len(axes):
        return tensor
    return np.transpose(tensor, axes)


def by_prefix(torch_prefix, head_keys=("fc.weight", "fc.bias")):
    """A mapping from a name translation `torch_prefix(layer_name, spec) -> str or None`.

    Every layer with weights is translated; None means the layer has no counterpart (the
    conversion then fails, naming it). `head_keys` are skipped when `model` has no
    `predictions` layer (`include_top=False`).
    """

    def mapping(tensors, model, spec):
        names = {layer.name for layer in model.layers}
        if "predictions" not in names:
            tensors.discard(head_keys)
        pairs = []
        for layer in model.layers:
            if not layer.weights:
                continue
            prefix = torch_prefix(layer.name, spec)
            if prefix is None:
                pairs.append((layer.name, None))
            else:
                pairs.append((layer.name, tensors.for_layer(layer, prefix)))
        return pairs

    return mapping


# family (Spec.family) -> mapping; family modules below add theirs on import.
MAPPINGS = {}


def convert(model, state_dict, spec, mapping=None):
    """Assigns a PyTorch state dict to `model`, all or nothing (see the module doc).

    `mapping`: for a source that is not a PyTorch family (a Keras 2 `.h5` read into a
    state dict, `keras_resnets.convert.keras2`); default `MAPPINGS[spec.family]`.
    """
    if mapping is None and spec.family not in MAPPINGS:
        raise ValueError(
            f"No PyTorch mapping for the {spec.family!r} family; known: {sorted(MAPPINGS)}."
        )
    tensors = Tensors(state_dict)
    pairs = (mapping or MAPPINGS[spec.family])(tensors, model, spec)
    problems = []
    if tensors.missing:
        problems.append(f"missing tensors: {', '.join(tensors.missing)}")
    unused = tensors.unused()
    if unused:
        problems.append(f"unexpected tensors: {', '.join(unused)}")
    assigned = {name for name, _ in pairs}
    empty = [layer.name for layer in model.layers if layer.weights and layer.name not in assigned]
    unmapped = [name for name, arrays in pairs if arrays is None] + empty
    if unmapped:
        problems.append(f"layers without a source tensor: {', '.join(unmapped)}")
    shapes = []
    for name, arrays in pairs:
        if arrays is None or any(a is None for a in arrays):
            continue
        expected = [tuple(w.shape) for w in model.get_layer(name).weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            shapes.append(f"{name} expects {expected}, the checkpoint gives {got}")
    if shapes:
        problems.append("wrong shapes: " + "; ".join(shapes))
    if problems:
        raise CheckpointMismatchError(
            f"The checkpoint does not fit {model.name} ({spec.registry_name}); nothing was "
            "loaded.\n  " + "\n  ".join(problems)
        )
    for name, arrays in pairs:
        model.get_layer(name).set_weights(arrays)
    return model


def load_checkpoint(model, path, spec):
    """Reads a PyTorch checkpoint file and converts it into `model`."""
    return convert(model, read_checkpoint(path), spec)


def cached_weights_path(checkpoint_path, model_name, include_top):
    stem = os.path.splitext(os.fspath(checkpoint_path))[0]
    return f"{stem}.{model_name}{'' if include_top else '_notop'}.weights.h5"


def checkpoint_fname(url):
    """Local file name of a checkpoint URL; timm's are all called model.safetensors."""
    match = re.search(r"huggingface\.co/([^/]+)/([^/]+)/resolve/[^/]+/(.+)$", url)
    if match:
        owner, repo, filename = match.groups()
        return f"{owner}_{repo}{os.path.splitext(filename)[1]}"
    return url.rsplit("/", 1)[-1]


def load_converted(model, entry, include_top, load=load_checkpoint):
    """Table loader: the converted `.weights.h5` if cached, else fetch, `load`, cache.

    `load(model, path, spec)` converts the fetched file (default: a PyTorch checkpoint).
    """
    from keras_resnets import registry

    spec = registry.get_spec(entry.model)
    folder = os.path.join(weights_lib.cache_dir(), "models")
    url, expected_hash = entry.file_for(include_top)
    fname = checkpoint_fname(url)
    cached = cached_weights_path(os.path.join(folder, fname), entry.model, include_top)
    if os.path.exists(cached):
        model.load_weights(cached)
        return
    path = weights_lib.fetch(url, expected_hash, fname=fname)
    load(model, path, spec)
    # Written under a temporary name first, so an interrupted save is never loaded.
    partial = cached[: -len(".weights.h5")] + ".partial.weights.h5"
    model.save_weights(partial)
    os.replace(partial, cached)


weights_lib.LOADERS["torchvision"] = load_converted
weights_lib.LOADERS["timm"] = load_converted

from keras_resnets.convert import resnet as _resnet  # noqa: E402,F401 (registers "resnet")
from keras_resnets.convert import densenet as _densenet  # noqa: E402,F401 (registers "densenet")
from keras_resnets.convert import dpn as _dpn  # noqa: E402,F401 (registers "dpn")
from keras_resnets.convert import keras2 as _keras2  # noqa: E402,F401 (registers "keras2_resnext")
