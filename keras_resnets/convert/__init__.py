"""Checkpoints of other libraries into our Keras layers, keyed by the weights row's layout.

    LAYOUTS[layout] = (read(path) -> state dict, mapping(tensors, model, spec) -> pairs)

The layouts are those of `keras_resnets.weights.entry`; `keras_resnets.convert.checkpoint`
holds the reading and the strict assignment, one module per naming scheme holds its
mapping. Conversion always goes through the `Spec` the model was built from.

The weights table's converted rows are cached after the first load as
`<checkpoint>.<model>[_notop].weights.h5` beside the checkpoint (`cached_weights_path`),
so later loads are plain Keras loads. `python -m keras_resnets.convert` converts a local
file offline.
"""

import hashlib
import os
import re

from keras_resnets.convert import densenet, dpn, keras2, resnet
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
}
# The layouts whose files are PyTorch checkpoints (what `weights=<.pth path>` and the CLI read).
TORCH_LAYOUTS = ("torch_resnet", "akamaster_cifar", "torch_densenet", "timm_dpn")


def layout_for(spec):
    """The PyTorch layout of an architecture: its weights rows' own, else its structure's."""
    from keras_resnets import weights

    for entry in weights.TABLE:
        if entry.model == spec.registry_name and entry.layout in TORCH_LAYOUTS:
            return entry.layout
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


def cached_weights_path(checkpoint_path, spec, include_top):
    """Where a conversion of `checkpoint_path` for `spec` is cached.

    A spec changed by `create_model` options (e.g. `dropout=0.3`) gets a digest of its
    fields in the name, so it never shares a cached file with the registered architecture.
    """
    from keras_resnets.core import registry

    key = spec.registry_name
    if registry.get_spec(key) != spec:
        key += "-" + hashlib.sha1(repr(spec).encode()).hexdigest()[:8]
    stem = os.path.splitext(os.fspath(checkpoint_path))[0]
    return f"{stem}.{key}{'' if include_top else '_notop'}.weights.h5"


def checkpoint_fname(url):
    """Local file name of a checkpoint URL; timm's are all called model.safetensors."""
    match = re.search(r"huggingface\.co/([^/]+)/([^/]+)/resolve/[^/]+/(.+)$", url)
    if match:
        owner, repo, filename = match.groups()
        return f"{owner}_{repo}{os.path.splitext(filename)[1]}"
    return url.rsplit("/", 1)[-1]
