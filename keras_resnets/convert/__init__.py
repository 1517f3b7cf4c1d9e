"""Checkpoints of other libraries into our Keras layers, keyed by the weights row's layout.

    LAYOUTS[layout] = (read(path) -> state dict, mapping(tensors, model, spec) -> pairs)

The layouts are those of `keras_resnets.weights.entry`; `keras_resnets.convert.checkpoint`
holds the reading and the strict assignment, one module per naming scheme holds its
mapping. Conversion always goes through the `Spec` the model was built from.

A leaf: nothing here looks up the registry or the weights table. `keras_resnets.weights`
hands over a row's layout, and caches the result after the first load under a name it
decides (`keras_resnets.weights.cached_weights_path`), so later loads are plain Keras loads.
A file without a row gets the layout of its architecture (`layout_for`).
`python -m keras_resnets.convert` converts a local file offline.
"""

import os

from keras_resnets.convert import densenet, dpn, keras2, resnet, tv_detection, tv_segmentation
from keras_resnets.convert.checkpoint import (  # noqa: F401 (the package's API)
    CheckpointMismatchError,
    Tensors,
    assign,
    by_prefix,
    read_checkpoint,
)

LAYOUTS = {
    "torch_resnet": (read_checkpoint, resnet.mapping),
    "akamaster_cifar": (read_checkpoint, resnet.akamaster_mapping),
    "torch_densenet": (read_checkpoint, densenet.mapping),
    "timm_dpn": (read_checkpoint, dpn.mapping),
    "keras2_resnext": (keras2.read_legacy_h5, keras2.mapping),
    "tv_segmentation": (read_checkpoint, tv_segmentation.mapping),
    "tv_retinanet": (read_checkpoint, tv_detection.retinanet_mapping),
    "tv_fcos": (read_checkpoint, tv_detection.fcos_mapping),
}


def layout_for(spec):
    """The PyTorch layout of an architecture, read off its structure (the weights table's
    torch rows have these layouts too, a test checks); a task model's spec names its own."""
    if getattr(spec, "layout", None):
        return spec.layout
    if spec.block == "dense":
        return "torch_densenet"
    if spec.block == "dual_path":
        return "timm_dpn"
    if spec.stem == "cifar" and spec.shortcut == "zeropad":
        return "akamaster_cifar"  # e.g. akamaster's ResNet110/1202 files, which have no row
    return "torch_resnet"


def _layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown checkpoint layout {layout!r}; known: {sorted(LAYOUTS)}.")
    return LAYOUTS[layout]


def convert(model, state_dict, spec, layout=None):
    """Assigns a state dict to `model`, all or nothing; `layout` defaults to `layout_for(spec)`."""
    _, mapping = _layout(layout or layout_for(spec))
    return assign(model, state_dict, spec, mapping)


def load_file(model, path, layout, spec):
    """Reads a checkpoint file of `layout` and converts it into `model` (built from `spec`)."""
    read, mapping = _layout(layout)
    return assign(model, read(os.fspath(path)), spec, mapping)


def load_checkpoint(model, path, spec):
    """Reads a PyTorch checkpoint file and converts it into `model`, in `spec`'s layout."""
    return load_file(model, path, layout_for(spec), spec)

