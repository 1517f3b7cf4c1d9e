"""The official Keras 2 ResNeXt `.h5` files (keras_applications' ResNeXt50 and ResNeXt101).

Keras 2 had no grouped convolution, so keras_applications computed a block's grouped 3x3
as a `DepthwiseConv2D(depth_multiplier=c)` (c = channels per group), a Reshape to
`(..., groups, c, c)`, a sum over the *first* of the two c axes (the input channel inside
the group; the Lambda `_2_reduce`) and a Reshape back. Its `{b}_2_conv` layers therefore
store a depthwise kernel D of shape (k, k, filters, c) where our grouped Conv2D has a
kernel K of shape (k, k, c, filters):

    D[..., g*c + a, m]  ==  K[..., a, g*c + m]

the weight from input channel a of group g to output channel m of that group. Same numbers,
other order, so the parameter counts are equal. Every other layer has our name and shape,
except the classifier, called `probs` there and `predictions` here.

The file is read by layer and weight name into a state dict (`"conv1_conv/kernel"`) and
assigned through `keras_resnets.convert.checkpoint.assign`, so it is all or nothing:
missing, extra or
misshapen tensors are reported together, by name (layout "keras2_resnext" of the weights
table; the converted `.weights.h5` is cached beside the official file).
"""

import h5py
import keras
import numpy as np

from keras_resnets.convert.checkpoint import CheckpointMismatchError, assign, discard_head

BN_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")
# Our name -> the name of the same layer in keras_applications' ResNeXt.
KERAS2_NAMES = {"predictions": "probs"}


def _attribute(group, name):
    # Keras splits an attribute over the HDF5 header limit into name0, name1, ...
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values.extend(group.attrs[f"{name}{chunk}"])
            chunk += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def read_legacy_h5(path):
    """`{"<layer>/<weight>": float32 array}` from a legacy Keras `.h5` weights file.

    `<weight>` is the variable's own name without Keras 2's `:0` (`kernel`,
    `depthwise_kernel`, `gamma`, ...). Whole-model files (`model_weights`) work too.
    """
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        layer_names = _attribute(root, "layer_names")
        if not layer_names:
            raise CheckpointMismatchError(
                f"{path} is not a legacy Keras .h5 weights file (no `layer_names`)."
            )
        tensors = {}
        for layer in layer_names:
            group = root[layer]
            for weight in _attribute(group, "weight_names"):
                short = weight.rsplit("/", 1)[-1].split(":", 1)[0]
                tensors[f"{layer}/{short}"] = np.asarray(group[weight], dtype=np.float32)
    return tensors


def grouped_kernel(depthwise, groups):
    """Keras 2's (k, k, filters, c) depthwise kernel as our (k, k, c, filters) grouped one."""
    fits = depthwise is not None and depthwise.ndim == 4
    if not fits or depthwise.shape[2] != groups * depthwise.shape[3]:
        return depthwise  # left as it is, for the shape check to report
    kh, kw, filters, c = depthwise.shape
    by_group = depthwise.reshape(kh, kw, groups, c, c)  # [..., g, a, m]
    return by_group.transpose(0, 1, 3, 2, 4).reshape(kh, kw, c, filters)  # [..., a, g*c + m]


def _layer_arrays(tensors, layer):
    source = KERAS2_NAMES.get(layer.name, layer.name)
    if isinstance(layer, keras.layers.BatchNormalization):
        return [tensors.take(f"{source}/{w}") for w in BN_WEIGHTS]
    if isinstance(layer, keras.layers.Conv2D) and layer.groups > 1:
        # Keras 3 calls a DepthwiseConv2D's kernel "kernel", so a Keras 3 re-save reads too.
        name = "kernel" if tensors.has(f"{source}/kernel") else "depthwise_kernel"
        arrays = [grouped_kernel(tensors.take(f"{source}/{name}"), layer.groups)]
    elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
        arrays = [tensors.take(f"{source}/kernel")]
    else:
        return None  # reported as a layer without a source tensor
    if layer.use_bias:
        arrays.append(tensors.take(f"{source}/bias"))
    return arrays


def mapping(tensors, model, spec):
    """Mapping of layout "keras2_resnext": each of our layers from its Keras 2 namesake."""
    head = KERAS2_NAMES["predictions"]
    discard_head(tensors, model, [k for k in tensors.state if k.startswith(f"{head}/")])
    return [(layer.name, _layer_arrays(tensors, layer)) for layer in model.layers if layer.weights]


def load_keras2_h5(model, path, spec):
    """Loads a keras_applications ResNeXt `.h5` into our `model` (layout of `spec`)."""
    return assign(model, read_legacy_h5(path), spec, mapping)
