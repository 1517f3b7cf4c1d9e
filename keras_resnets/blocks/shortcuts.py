"""The parameter-free shortcuts and the ways a block joins its two paths.

`Spec.shortcut` picks the skip path: "projection"/"avg_down" (`residual.projection`) or,
here, "zeropad" (He et al. 2015 option A), "highway" (Srivastava et al. 2015, gated)
and "none" (plain nets, no skip path: the baselines of both papers). `Spec.residual_weight`
scales the branch by a learnable scalar first (Shen & Zeng 2016).

Layer names, with `{block}` the block prefix (e.g. `conv3_block1`):

    {block}_0_pool, {block}_0_channel_pad   option-A shortcut (subsample, pad channels)
    {block}_gate                            highway transform gate (1x1 conv, sigmoid)
    {block}_weight                          ResidualWeight on the branch

With stochastic depth (`Spec.drop_path_rate`) the merge drops the branch per sample in
training (`layers.DropPathAdd`, or the highway's own rate) and keeps its name.

The merge keeps the block's merge name whatever its kind (`{block}_add` in a
post-activation block, `{block}_out` in a pre-activation one), so features are tapped
by the same names in every variant.
"""

import keras
from keras import layers

from keras_resnets.blocks import layers as custom
from keras_resnets.blocks.ops import channel_axis

PARAMETER_FREE = ("zeropad", "highway", "none")
# Srivastava et al. start the transform gates nearly closed with a negative bias (e.g. -1
# or -3); -2, the middle, lets about 12% of the branch through where the kernel term is small.
HIGHWAY_GATE_BIAS = -2.0


def zero_pad(x, filters_in, filters_out, stride, name):
    """Option A: keep every stride-th pixel, then pad the new channels with zeros.

    `MaxPooling2D(1, stride)` keeps rows and columns 0, stride, 2 * stride, ... exactly like
    PyTorch's `x[:, :, ::2, ::2]`, and like the stride-2 3x3 convolution of the branch
    with its symmetric padding of 1, so both paths stay aligned.
    """
    if stride > 1:
        x = layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    if filters_out != filters_in:
        extra = filters_out - filters_in
        x = custom.ChannelPad(extra // 2, extra - extra // 2, name=f"{name}_0_channel_pad")(x)
    return x


def parameter_free(x, spec, filters_in, filters_out, stride, name):
    """The skip path of a "zeropad"/"highway" block (also the highway carry), None for "none".

    The highway carry changes shape with option A too: the paper changes dimensionality
    by sub-sampling and zero-padding (or with a plain layer).
    """
    if spec.shortcut == "none":
        return None
    return zero_pad(x, filters_in, filters_out, stride, name)


def transform_gate(x, filters, stride, name):
    """T(x): a 1x1 convolution with a sigmoid, strided like the branch.

    A 1x1 gate is the "exclusive gating" that He et al. 2016 tested on residual blocks;
    Srivastava et al. used a gate of the same kind as H, which would double the weights.
    """
    return layers.Conv2D(
        filters,
        1,
        strides=stride,
        activation="sigmoid",
        bias_initializer=keras.initializers.Constant(HIGHWAY_GATE_BIAS),
        name=f"{name}_gate",
    )(x)


def join(block_input, shortcut, branch, spec, stride, name, out_name, drop_rate=0.0):
    """Merges the branch into the skip path: Add, Highway or, for plain nets, nothing;
    `drop_rate` > 0 drops what the block adds, per sample, at training."""
    if spec.residual_weight:
        branch = custom.ResidualWeight(name=f"{name}_weight")(branch)
    if shortcut is None:
        if drop_rate:
            raise ValueError(
                f"{spec.name}: drop_path_rate drops a block's branch onto its shortcut, and "
                "shortcut='none' (a plain net) has none; leave drop_path_rate at 0."
            )
        return branch
    if spec.shortcut == "highway":
        gate = transform_gate(block_input, branch.shape[channel_axis()], stride, name)
        return custom.Highway(drop_rate, name=out_name)([shortcut, branch, gate])
    return add(shortcut, branch, drop_rate, out_name)


def add(shortcut, branch, drop_rate, name):
    """`shortcut + branch`: a plain Add, or with stochastic depth a `DropPathAdd`."""
    if drop_rate:
        return custom.DropPathAdd(drop_rate, name=name)([shortcut, branch])
    return layers.Add(name=name)([shortcut, branch])


def drop_path_rates(spec):
    """Each block's drop-path rate, in network order: timm's linear rule, block i of n
    gets `spec.drop_path_rate * i / (n - 1)`, so the first block is never dropped."""
    n = sum(spec.depths)
    return [spec.drop_path_rate * i / max(n - 1, 1) for i in range(n)]
