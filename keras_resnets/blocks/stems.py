"""Stems: what a network does to the image before its first stage.

Layer names: `conv1_pad`, `conv1_conv`, `conv1_bn`, `conv1_relu`, `pool1_pad`, `pool1_pool`
(DenseNet: `pool1`, keras.applications' name); the deep stem adds `conv1_{j}_conv`, `_bn`,
`_relu`, `_pad` for j = 1..3.
"""

from keras import layers

from keras_resnets.blocks.ops import batch_norm, conv, relu

# The Spec option the 7x7 stems read beyond every network's (`keras_resnets.core.options`).
IMAGENET_OPTIONS = frozenset({"stem_kernel"})


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


def densenet_stem(x, spec):
    """The ImageNet stem with keras.applications' DenseNet name for its max-pool, "pool1"."""
    return imagenet_stem(x, spec, pool_name="pool1")
