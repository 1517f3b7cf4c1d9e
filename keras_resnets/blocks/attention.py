"""Attention on the residual branch: squeeze-excitation and CBAM.

Each function takes the branch output (after its last BN, before the shortcut is added)
and returns it re-weighted; `Spec.attention` picks one by name, so attention is an
option of any block, not a copy of it. The layouts follow timm's `SEModule` and
`CbamModule`, so timm checkpoints convert one tensor to one weight.

Layer names, with `{block}` the block prefix (e.g. `conv3_block2`):

    {block}_se_pool, _se_reduce, _se_relu, _se_expand (sigmoid), _se_scale
    {block}_cbam_avg, _cbam_max, _cbam_reduce, _cbam_relu, _cbam_expand (both pools share
    reduce/relu/expand), _cbam_channel_add, _cbam_channel_gate, _cbam_channel_scale,
    {block}_cbam_stats (channel mean and max), _cbam_spatial_conv, _cbam_spatial_bn,
    _cbam_spatial_gate, _cbam_spatial_scale
"""

import keras
from keras import layers
from keras import ops

from keras_resnets.blocks.ops import channel_axis

# Squeeze ratio of both modules (Hu et al. 2018; Woo et al. 2018).
REDUCTION = 16


def reduced_channels(channels, divisor):
    """timm's `make_divisible(channels / 16, divisor, round_limit=0)`."""
    return max(divisor, int(channels / REDUCTION + divisor / 2) // divisor * divisor)


def squeeze_excite(x, spec, name):
    """Hu et al. 2018: scale channels by a gate computed from their global average."""
    channels = x.shape[channel_axis()]
    # timm rounds the squeeze width to a multiple of 8 (so 64 channels squeeze to 8, not 4).
    reduced = reduced_channels(channels, 8)
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    s = layers.Conv2D(reduced, 1, name=f"{name}_se_reduce")(s)
    s = layers.Activation("relu", name=f"{name}_se_relu")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_se_expand")(s)
    return layers.Multiply(name=f"{name}_se_scale")([x, s])


@keras.saving.register_keras_serializable(package="keras_resnets")
class ChannelStats(layers.Layer):
    """Mean and max over the channels, stacked as two channels (CBAM's spatial input)."""

    def call(self, x):
        axis = channel_axis()
        return ops.concatenate(
            [ops.mean(x, axis=axis, keepdims=True), ops.max(x, axis=axis, keepdims=True)],
            axis=axis,
        )

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[channel_axis()] = 2
        return tuple(shape)


def cbam(x, spec, name):
    """Woo et al. 2018: a channel gate from average- and max-pooled features, then a
    spatial gate from a 7x7 convolution of the channel mean and max."""
    channels = x.shape[channel_axis()]
    reduce = layers.Conv2D(reduced_channels(channels, 1), 1, use_bias=False, name=f"{name}_cbam_reduce")
    relu = layers.Activation("relu", name=f"{name}_cbam_relu")
    expand = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_cbam_expand")
    pooled = [
        layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_cbam_avg")(x),
        layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_cbam_max")(x),
    ]
    s = layers.Add(name=f"{name}_cbam_channel_add")([expand(relu(reduce(p))) for p in pooled])
    s = layers.Activation("sigmoid", name=f"{name}_cbam_channel_gate")(s)
    x = layers.Multiply(name=f"{name}_cbam_channel_scale")([x, s])

    s = ChannelStats(name=f"{name}_cbam_stats")(x)
    s = layers.Conv2D(1, 7, padding="same", use_bias=False, name=f"{name}_cbam_spatial_conv")(s)
    s = layers.BatchNormalization(
        axis=channel_axis(), epsilon=spec.bn_epsilon, name=f"{name}_cbam_spatial_bn"
    )(s)
    s = layers.Activation("sigmoid", name=f"{name}_cbam_spatial_gate")(s)
    return layers.Multiply(name=f"{name}_cbam_spatial_scale")([x, s])


ATTENTION = {"se": squeeze_excite, "cbam": cbam}
KINDS = (None, *ATTENTION)  # the values of `Spec.attention`, checked by `keras_resnets.core.options`


def apply(x, spec, name):
    """The spec's attention on a branch output (identity when `spec.attention` is None)."""
    if spec.attention is None:
        return x
    return ATTENTION[spec.attention](x, spec, name)
