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

import keras
from keras import layers

from keras_resnets import attention
from keras_resnets import shortcuts


def channel_axis():
    # Positive, as keras.applications writes it, so that our layer configs equal theirs.
    return 3 if keras.config.image_data_format() == "channels_last" else 1


def conv(x, filters, kernel, stride, name, use_bias, groups=1, explicit_pad=False):
    """A convolution whose padding matches PyTorch and Caffe (symmetric, k // 2).

    TensorFlow's "same" pads asymmetrically when the stride is 2, so strided and
    explicitly padded convolutions get a ZeroPadding2D layer named `<name>_pad`.
    """
    padding = "valid"
    if kernel > 1:
        if explicit_pad or stride > 1:
            x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        else:
            padding = "same"
    return layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding=padding,
        groups=groups,
        use_bias=use_bias,
        name=f"{name}_conv",
    )(x)


def batch_norm(x, name, epsilon):
    return layers.BatchNormalization(axis=channel_axis(), epsilon=epsilon, name=name)(x)


def relu(x, name):
    return layers.Activation("relu", name=name)(x)


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


def residual_block(x, spec, filters_in, width, filters_out, stride, name):
    """Post-activation block (He et al. 2015): relu(shortcut + BN(branch)).

    Weighted (Shen & Zeng 2016): shortcut + lambda * relu(BN(branch)), no ReLU after the sum.
    """
    inputs = x
    if spec.shortcut in shortcuts.PARAMETER_FREE:
        shortcut = shortcuts.parameter_free(x, spec, filters_in, filters_out, stride, name)
    elif filters_in != filters_out or stride > 1:
        shortcut = projection(x, spec, filters_out, stride, name, with_bn=True)
    else:
        shortcut = x
    rows = branch_convs(spec, width, filters_out, stride)
    for j, (kernel, filters, conv_stride, groups) in enumerate(rows, start=1):
        x = conv(x, filters, kernel, conv_stride, f"{name}_{j}", spec.use_bias, groups)
        x = batch_norm(x, f"{name}_{j}_bn", spec.bn_epsilon)
        if j < len(rows):
            x = relu(x, f"{name}_{j}_relu")
            x = dropout(x, spec, f"{name}_{j}_dropout")
    x = attention.apply(x, spec, name)
    if spec.residual_weight:
        x = relu(x, f"{name}_{len(rows)}_relu")
        return shortcuts.join(inputs, shortcut, x, spec, stride, name, f"{name}_out")
    x = shortcuts.join(inputs, shortcut, x, spec, stride, name, f"{name}_add")
    return relu(x, f"{name}_out")


def preact_residual_block(x, spec, filters_in, width, filters_out, stride, name):
    """Pre-activation block (He et al. 2016): shortcut + branch(relu(BN(x))).

    Inner convolutions are bias-free (a BN follows them); the last one and the
    projection keep `spec.use_bias`, as in keras.applications' ResNetV2.
    """
    preact = batch_norm(x, f"{name}_preact_bn", spec.bn_epsilon)
    preact = relu(preact, f"{name}_preact_relu")
    if spec.shortcut in shortcuts.PARAMETER_FREE:
        shortcut = shortcuts.parameter_free(x, spec, filters_in, filters_out, stride, name)
    elif filters_in != filters_out:
        shortcut = projection(preact, spec, filters_out, stride, name, with_bn=False)
    elif stride > 1:
        shortcut = subsample(x, stride, name)
    else:
        shortcut = x
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
        )
        if not last:
            x = batch_norm(x, f"{name}_{j}_bn", spec.bn_epsilon)
            x = relu(x, f"{name}_{j}_relu")
            x = dropout(x, spec, f"{name}_{j}_dropout")
    x = attention.apply(x, spec, name)
    return shortcuts.join(preact, shortcut, x, spec, stride, name, f"{name}_out")


def imagenet_stem(x, spec, pool_name="pool1_pool"):
    """7x7/2 convolution and 3x3/2 max-pool; V2 leaves BN+ReLU to the first block.

    `pool_name`: keras.applications' DenseNet calls its max-pool "pool1".
    """
    x = conv(x, spec.stem_width, spec.stem_kernel, 2, "conv1", use_bias=spec.use_bias)
    if not spec.preact:
        x = batch_norm(x, "conv1_bn", spec.bn_epsilon)
        x = relu(x, "conv1_relu")
    return stem_pool(x, pool_name)


def stem_pool(x, name="pool1_pool"):
    """3x3/2 max-pool after a stem.

    Zero padding equals PyTorch's -inf padding here: inputs are >= 0 after ReLU (V1), and
    keras.applications V2 pads its un-activated stem with zeros too.
    """
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=name)(x)


def deep_stem(x, spec):
    """ResNet-C/D stem (He et al. 2019): three 3x3 convolutions instead of the 7x7."""
    widths = (spec.stem_width // 2, spec.stem_width // 2, spec.stem_width)
    for j, width in enumerate(widths, start=1):
        x = conv(x, width, 3, 2 if j == 1 else 1, f"conv1_{j}", use_bias=spec.use_bias)
        if j < len(widths):
            x = batch_norm(x, f"conv1_{j}_bn", spec.bn_epsilon)
            x = relu(x, f"conv1_{j}_relu")
    if not spec.preact:
        x = batch_norm(x, "conv1_bn", spec.bn_epsilon)
        x = relu(x, "conv1_relu")
    return stem_pool(x)


def cifar_stem(x, spec):
    """One 3x3 convolution at full resolution (He et al. 2015 section 4.2, WRN); V2 leaves
    BN+ReLU to the first block."""
    x = conv(x, spec.stem_width, 3, 1, "conv1", use_bias=spec.use_bias)
    if not spec.preact:
        x = batch_norm(x, "conv1_bn", spec.bn_epsilon)
        x = relu(x, "conv1_relu")
    return x


STEMS = {"imagenet": imagenet_stem, "deep": deep_stem, "cifar": cifar_stem}
BLOCKS = {False: residual_block, True: preact_residual_block}
