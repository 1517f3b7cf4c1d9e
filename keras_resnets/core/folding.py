"""BatchNorm folded into the convolution before it, for inference-only models.

    fast = keras_resnets.fold_batchnorm(model)   # same outputs (within float32 rounding)

In inference a BatchNormalization is a per-channel affine map, y = x * s + t with s =
gamma / sqrt(variance + epsilon) and t = beta - mean * s, so after a convolution it can be
merged into that convolution: kernel * s (per output channel) and bias * s + t. A pair is
folded when the BatchNormalization is the only consumer of the convolution's output, both
are used once, and the normalised axis is the convolution's channel axis; every other layer
is kept as it is (pre-activation blocks, whose BatchNormalization follows an addition or
comes before the convolution, keep theirs). The folded BatchNormalization becomes an
`Identity` of the same name, so every layer name, and so every weight file's layout for the
other layers, stays. The copy is for inference only: training it would train without
BatchNorm.
"""

import keras
import numpy as np

from keras_resnets.convert.checkpoint import flat_layers

CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D)


def _producer(layer):
    """The layer whose output `layer` (called once, on one tensor) takes, or None."""
    if len(layer._inbound_nodes) != 1:
        return None
    inputs = layer._inbound_nodes[0].input_tensors
    return inputs[0]._keras_history.operation if len(inputs) == 1 else None


def _channel_axis(conv):
    rank = len(conv.kernel.shape)
    return 1 if conv.data_format == "channels_first" else rank - 1


def foldable_pairs(model):
    """[(convolution, BatchNormalization)] of `model` and its nested models that fold."""
    pairs = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            pairs += foldable_pairs(layer)
            continue
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        conv = _producer(layer)
        if not isinstance(conv, CONVOLUTIONS) or len(conv._inbound_nodes) != 1:
            continue
        if len(conv._outbound_nodes) != 1 or isinstance(conv, keras.layers.DepthwiseConv2D) and conv.depth_multiplier != 1:
            continue
        axes = [axis % len(conv.kernel.shape) for axis in np.atleast_1d(layer.axis)]
        if axes == [_channel_axis(conv)]:
            pairs.append((conv, layer))
    return pairs


def _folded_weights(conv, norm):
    """(kernel, bias) of `conv` with `norm` applied after it."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).astype(np.float64)
    channels = kernel.shape[-2] if isinstance(conv, keras.layers.DepthwiseConv2D) else kernel.shape[-1]
    bias = keras.ops.convert_to_numpy(conv.bias).astype(np.float64) if conv.use_bias else np.zeros(channels)
    mean = keras.ops.convert_to_numpy(norm.moving_mean).astype(np.float64)
    variance = keras.ops.convert_to_numpy(norm.moving_variance).astype(np.float64)
    gamma = keras.ops.convert_to_numpy(norm.gamma).astype(np.float64) if norm.scale else np.ones(channels)
    beta = keras.ops.convert_to_numpy(norm.beta).astype(np.float64) if norm.center else np.zeros(channels)
    scale = gamma / np.sqrt(variance + norm.epsilon)
    # A depthwise kernel (kh, kw, channels, 1) scales along its channels; the others along outputs.
    kernel = kernel * (scale[:, None] if isinstance(conv, keras.layers.DepthwiseConv2D) else scale)
    return kernel.astype(np.float32), ((bias - mean) * scale + beta).astype(np.float32)


def fold_batchnorm(model):
    """A copy of the Functional `model` with every foldable convolution + BatchNormalization
    pair merged into the convolution (see the module docstring); the model itself is not
    changed. Outputs agree with `model(x, training=False)` to float32 rounding."""
    pairs = foldable_pairs(model)
    convs = {id(conv): norm for conv, norm in pairs}
    norms = {id(norm) for _, norm in pairs}
    originals = {}

    def clone(layer):
        if id(layer) in norms:
            new = keras.layers.Identity(name=layer.name)
        elif id(layer) in convs:
            new = layer.__class__.from_config({**layer.get_config(), "use_bias": True})
        else:
            new = layer.__class__.from_config(layer.get_config())
        originals[id(new)] = layer
        return new

    def call(layer, *args, **kwargs):
        # An Identity takes no `training` or `mask`, which a BatchNormalization's call had.
        return layer(args[0]) if isinstance(layer, keras.layers.Identity) else layer(*args, **kwargs)

    inputs = [  # named as the originals
        keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history.operation.name) for t in model.inputs
    ]
    folded = keras.models.clone_model(
        model, input_tensors=inputs if len(inputs) > 1 else inputs[0], clone_function=clone, call_function=call,
        recursive=True,
    )  # fmt: skip
    for new in flat_layers(folded):
        old = originals.get(id(new))
        if old is None or not old.weights:
            continue
        if id(old) in convs:
            new.set_weights(list(_folded_weights(old, convs[id(old)])))
        elif id(old) not in norms:
            new.set_weights(old.get_weights())
    return folded

