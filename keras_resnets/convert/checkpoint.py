"""The conversion machinery: reading checkpoints, and strict all-or-nothing assignment.

Reading: `read_checkpoint(path)` returns `{name: numpy array}`; safetensors files are
read with `safetensors.numpy` (no torch needed), `.pth`/`.pt`/`.th`/`.bin` with
`torch.load` (imported only then).

A layout's mapping (`keras_resnets.convert.LAYOUTS`):

    mapping(tensors, model, spec) -> [(layer_name, [arrays]), ...]

`tensors` is a `Tensors` (the state dict; `take(key)` hands a tensor over and records
it); `model` is the built Keras model, `spec` the `Spec` it was built from (not looked up
by name: a `create_model(..., attention="se")` override is what the mapping sees); each
array list is in the order of `model.get_layer(layer_name).get_weights()`, already in
Keras layout. Most layouts only need to name, for each of our layers, the PyTorch module
it comes from: `by_prefix(fn(layer_name, spec) -> prefix or None)` builds the mapping
from that, and `Tensors.for_layer` does the layout changes by layer type (Conv2D: OIHW
-> HWIO, grouped too; BatchNormalization: weight, bias, running_mean, running_var;
GroupNormalization: weight, bias; Dense: transposed).

Assignment is strict (`assign`): tensors the mapping did not use, tensors it asked for
that are absent, layers with weights that got none, and shape mismatches are all
reported together in one `CheckpointMismatchError`, and nothing is assigned unless
everything fits. Only `num_batches_tracked` counters are ignored, and the classifier
tensors (`head_keys`) when the model has no classifier.
"""

import os
import re

import keras
import numpy as np


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
        if isinstance(layer, keras.layers.GroupNormalization):
            return [self.take(f"{prefix}.weight"), self.take(f"{prefix}.bias")]
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


def flat_layers(model):
    """The layers of `model`, with nested models (a task model's backbone) opened up:
    weights belong to the innermost layers, whose names are unique across the nesting."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from flat_layers(layer)
        else:
            yield layer


def discard_head(tensors, model, head_keys):
    """A model without a classifier (`include_top=False`) leaves the checkpoint's unused."""
    if "predictions" not in {layer.name for layer in flat_layers(model)}:
        tensors.discard(head_keys)


def by_prefix(torch_prefix, head_keys=("fc.weight", "fc.bias")):
    """A mapping from a name translation `torch_prefix(layer_name, spec) -> str or None`.

    Every layer with weights is translated; None means the layer has no counterpart (the
    conversion then fails, naming it). `head_keys` are skipped when `model` has no
    `predictions` layer (`include_top=False`).
    """

    def mapping(tensors, model, spec):
        discard_head(tensors, model, head_keys)
        pairs = []
        for layer in flat_layers(model):
            if not layer.weights:
                continue
            prefix = torch_prefix(layer.name, spec)
            if prefix is None:
                pairs.append((layer.name, None))
            else:
                pairs.append((layer.name, tensors.for_layer(layer, prefix)))
        return pairs

    return mapping


def assign(model, state_dict, spec, mapping):
    """Assigns a state dict to `model` through `mapping`, all or nothing (see the module doc)."""
    tensors = Tensors(state_dict)
    pairs = mapping(tensors, model, spec)
    problems = []
    if tensors.missing:
        problems.append(f"missing tensors: {', '.join(tensors.missing)}")
    unused = tensors.unused()
    if unused:
        problems.append(f"unexpected tensors: {', '.join(unused)}")
    layers = {layer.name: layer for layer in flat_layers(model)}
    assigned = {name for name, _ in pairs}
    empty = [name for name, layer in layers.items() if layer.weights and name not in assigned]
    unmapped = [name for name, arrays in pairs if arrays is None] + empty
    if unmapped:
        problems.append(f"layers without a source tensor: {', '.join(unmapped)}")
    shapes = []
    for name, arrays in pairs:
        if arrays is None or any(a is None for a in arrays):
            continue
        expected = [tuple(w.shape) for w in layers[name].weights]
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
        layers[name].set_weights(arrays)
    return model
