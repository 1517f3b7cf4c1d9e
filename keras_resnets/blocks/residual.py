"""Layer-level building blocks, each a small function with one idea.

Layer names are part of the public contract (weight files are matched by them); the
scheme is documented in README.md ("Layer names") and follows keras.applications:

    conv1_pad, conv1_conv, conv1_bn, conv1_relu, pool1_pad, pool1_pool   stem
    conv{stage}_block{i}_{j}_conv / _{j}_bn / _{j}_relu / _{j}_pad      j-th conv of a branch
    conv{stage}_block{i}_0_conv / _0_bn / _0_pool                      shortcut
    conv1_{j}_conv / _{j}_bn / _{j}_relu / _{j}_pad                     deep stem (ResNet-D)
    conv{stage}_block{i}_se_* / _cbam_*                                 attention (attention.py)
    conv{stage}_block{i}_0_channel_pad / _gate / _weight / _{j}_dropout  shortcuts.py, WRN
    conv{stage}_block{i}_preact_bn / _preact_relu                      pre-activation
    conv{stage}_block{i}_add, conv{stage}_block{i}_out                 merge (V2: _out is the Add)
    post_bn, post_relu, avg_pool, max_pool, predictions                head

Creation order inside a block also follows keras.applications (shortcut layers before the
branch, `Add([shortcut, branch])`), because Keras loads legacy `.h5` files by layer order.
"""

from keras import layers

from keras_resnets.blocks import attention, shortcuts
from keras_resnets.blocks.ops import batch_norm, conv, relu
from keras_resnets.blocks.pyramid import stage_plan

# The Spec options these blocks read beyond every network's (`keras_resnets.core.options`).
BASIC_OPTIONS = frozenset({"stride_block", "attention", "shortcut", "residual_weight", "dropout", "drop_path_rate"})
BOTTLENECK_OPTIONS = BASIC_OPTIONS | {"stride_conv", "groups", "base_width"}
SHORTCUTS = ("projection", "avg_down", *shortcuts.PARAMETER_FREE)
STRIDE_BLOCKS = ("first", "last")
STRIDE_CONVS = ("1x1", "3x3")


def branch_convs(spec, width, filters_out, stride):
    """The residual branch as (kernel, filters, stride, groups) rows."""
    if spec.block == "basic":
        return [(3, width, stride, 1), (3, filters_out, 1, 1)]
    stride_1x1, stride_3x3 = (stride, 1) if spec.stride_conv == "1x1" else (1, stride)
    return [
        (1, width, stride_1x1, 1),
        (3, width, stride_3x3, spec.groups),
        (1, filters_out, 1, 1),
    ]


def _dilated(kernel, dilation):
    return dilation if kernel > 1 else 1


def projection(x, spec, filters_out, stride, name, with_bn):
    """1x1 strided convolution shortcut (He et al. option B).

    ResNet-D (He et al. 2019, "Bag of Tricks") average-pools instead of striding, so the
    shortcut sees every pixel; "same" pooling excludes the padding from the average, as
    PyTorch's `AvgPool2d(ceil_mode=True, count_include_pad=False)` on odd sizes.
    """
    if spec.shortcut == "avg_down" and stride > 1:
        x = layers.AveragePooling2D(stride, stride, padding="same", name=f"{name}_0_pool")(x)
        stride = 1
    x = conv(x, filters_out, 1, stride, f"{name}_0", use_bias=spec.use_bias)
    return batch_norm(x, f"{name}_0_bn", spec.bn_epsilon) if with_bn else x


def dropout(x, spec, name):
    """Dropout between the convolutions of a branch (WRN), when the spec asks for it."""
    return layers.Dropout(spec.dropout, name=name)(x) if spec.dropout else x


def subsample(x, stride, name):
    """Identity shortcut of a strided block: keep every stride-th pixel."""
    return layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)


def skip_path(x, preact, spec, filters_in, filters_out, stride, name):
    """The shortcut of a block; `preact` is a pre-activation block's BN-ReLU'd input, else None.

    A post-activation block projects (conv + BN) whenever the shape changes; a
    pre-activation one projects its activated input (no BN: the next block's pre-activation
    follows) only when the width changes, and subsamples the raw input when only the
    resolution does, as keras.applications' ResNetV2.
    """
    if spec.shortcut in shortcuts.PARAMETER_FREE:
        return shortcuts.parameter_free(x, spec, filters_in, filters_out, stride, name)
    if preact is None and (filters_in != filters_out or stride > 1):
        return projection(x, spec, filters_out, stride, name, with_bn=True)
    if preact is not None and filters_in != filters_out:
        return projection(preact, spec, filters_out, stride, name, with_bn=False)
    if stride > 1:
        return subsample(x, stride, name)
    return x


def residual_block(x, spec, filters_in, width, filters_out, stride, name, dilation=1, drop_rate=0.0):
    """Post-activation block (He et al. 2015): relu(shortcut + BN(branch)).

    Weighted (Shen & Zeng 2016): shortcut + lambda * relu(BN(branch)), no ReLU after the sum.
    `drop_rate`: stochastic depth of the branch (`shortcuts.join`).
    """
    inputs = x
    shortcut = skip_path(x, None, spec, filters_in, filters_out, stride, name)
    rows = branch_convs(spec, width, filters_out, stride)
    for j, (kernel, filters, conv_stride, groups) in enumerate(rows, start=1):
        x = conv(
            x, filters, kernel, conv_stride, f"{name}_{j}", spec.use_bias, groups,
            dilation=_dilated(kernel, dilation),
        )  # fmt: skip
        x = batch_norm(x, f"{name}_{j}_bn", spec.bn_epsilon)
        if j < len(rows):
            x = relu(x, f"{name}_{j}_relu")
            x = dropout(x, spec, f"{name}_{j}_dropout")
    x = attention.apply(x, spec, name)
    if spec.residual_weight:
        x = relu(x, f"{name}_{len(rows)}_relu")
        return shortcuts.join(inputs, shortcut, x, spec, stride, name, f"{name}_out", drop_rate)
    x = shortcuts.join(inputs, shortcut, x, spec, stride, name, f"{name}_add", drop_rate)
    return relu(x, f"{name}_out")


def preact_residual_block(x, spec, filters_in, width, filters_out, stride, name, dilation=1, drop_rate=0.0):
    """Pre-activation block (He et al. 2016): shortcut + branch(relu(BN(x))).

    Inner convolutions are bias-free (a BN follows them); the last one and the
    projection keep `spec.use_bias`, as in keras.applications' ResNetV2.
    """
    preact = batch_norm(x, f"{name}_preact_bn", spec.bn_epsilon)
    preact = relu(preact, f"{name}_preact_relu")
    shortcut = skip_path(x, preact, spec, filters_in, filters_out, stride, name)
    rows = branch_convs(spec, width, filters_out, stride)
    x = preact
    for j, (kernel, filters, conv_stride, groups) in enumerate(rows, start=1):
        last = j == len(rows)
        x = conv(
            x,
            filters,
            kernel,
            conv_stride,
            f"{name}_{j}",
            use_bias=spec.use_bias and last,
            groups=groups,
            explicit_pad=True,
            dilation=_dilated(kernel, dilation),
        )
        if not last:
            x = batch_norm(x, f"{name}_{j}_bn", spec.bn_epsilon)
            x = relu(x, f"{name}_{j}_relu")
            x = dropout(x, spec, f"{name}_{j}_dropout")
    x = attention.apply(x, spec, name)
    return shortcuts.join(preact, shortcut, x, spec, stride, name, f"{name}_out", drop_rate)


def residual_stages(x, spec, taps):
    """The stages of a residual network: `spec.depths[s]` blocks of `spec.widths[s]`.

    The stride of a stage sits in its first block (He et al., torchvision) or, in the
    keras.applications V2 layout, its last (`spec.stride_block`); `taps` records the
    feature pyramid (`keras_resnets.blocks.pyramid`).
    """
    filters_in = spec.stem_width
    block_fn = preact_residual_block if spec.preact else residual_block
    rows = zip(spec.depths, spec.widths, stage_plan(spec))
    drop_rates = iter(shortcuts.drop_path_rates(spec))
    for index, (depth, width, (stride, applied, before, after)) in enumerate(rows):
        inner = width
        if spec.block == "bottleneck":
            inner = int(width * spec.base_width / 64) * spec.groups
        filters_out = width * spec.expansion
        strided = 0 if spec.stride_block == "first" else depth - 1
        taps.begin_stage(x)
        for i in range(depth):
            taps.before(x, stride if i == strided else 1)
            x = block_fn(
                x,
                spec,
                filters_in,
                inner,
                filters_out,
                applied if i == strided else 1,
                name=f"conv{index + 2}_block{i + 1}",
                dilation=before if i <= strided else after,
                drop_rate=next(drop_rates),
            )
            filters_in = filters_out
    if spec.preact:
        x = batch_norm(x, "post_bn", spec.bn_epsilon)
        x = relu(x, "post_relu")
    return taps.finish(x)
