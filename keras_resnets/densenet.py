"""DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks").

Not a residual stack: each layer's output is concatenated to its input, and transition
layers (BN-ReLU-1x1 conv halving the channels, 2x2 average pool) join the stages. It
goes through the same builder as the ResNets: `stem="densenet"` and `block="dense"`
select the functions below.

DenseNet121/169/201 reproduce keras.applications' layout (names, creation order and
the `[input, new features]` concatenation order), so the official Keras `.h5` files
load by order and by name. Layer names:

    conv1_pad, conv1_conv, conv1_bn, conv1_relu, pool1_pad, pool1        stem
    conv{stage}_block{i}_0_bn / _0_relu                                BN-ReLU of the input
    conv{stage}_block{i}_1_conv / _1_bn / _1_relu                      1x1 bottleneck (4k)
    conv{stage}_block{i}_2_conv                                        3x3, k new channels
    conv{stage}_block{i}_concat                                        [input, new]
    pool{stage}_bn / _relu / _conv / _pool                             transition after a stage
    bn, relu, avg_pool, max_pool, predictions                          head

The trainable parameters are exactly torchvision's (the same layers); keras.applications'
totals add the BatchNorm moving statistics.
"""

import functools

from keras import layers

from keras_resnets import blocks, builder, imagenet, torch_weights
from keras_resnets import weights as weights_lib
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

PAPER = "Huang et al. 2017, arXiv:1608.06993"
GROWTH = 32


def dense_layer(x, spec, width, growth, name):
    """BN-ReLU-1x1 conv-BN-ReLU-3x3 conv, whose `growth` channels join the input."""
    y = blocks.batch_norm(x, f"{name}_0_bn", spec.bn_epsilon)
    y = blocks.relu(y, f"{name}_0_relu")
    y = blocks.conv(y, width, 1, 1, f"{name}_1", use_bias=False)
    y = blocks.batch_norm(y, f"{name}_1_bn", spec.bn_epsilon)
    y = blocks.relu(y, f"{name}_1_relu")
    y = blocks.conv(y, growth, 3, 1, f"{name}_2", use_bias=False)
    return layers.Concatenate(axis=blocks.channel_axis(), name=f"{name}_concat")([x, y])


def transition(x, spec, stride, name):
    """BN-ReLU, a 1x1 convolution keeping `spec.compression` of the channels, average pool."""
    channels = x.shape[blocks.channel_axis()]
    x = blocks.batch_norm(x, f"{name}_bn", spec.bn_epsilon)
    x = blocks.relu(x, f"{name}_relu")
    x = blocks.conv(x, int(channels * spec.compression), 1, 1, name, use_bias=False)
    return layers.AveragePooling2D(stride, strides=stride, name=f"{name}_pool")(x)


def dense_stages(x, spec):
    """The dense stages; `spec.widths` are the 1x1 bottleneck widths (4 x growth)."""
    rows = zip(spec.depths, spec.widths, spec.growth_rates, spec.strides)
    for index, (depth, width, growth, stride) in enumerate(rows):
        if index:  # the transition after the previous stage carries this stage's stride
            x = transition(x, spec, stride, f"pool{index + 1}")
        for i in range(depth):
            x = dense_layer(x, spec, width, growth, f"conv{index + 2}_block{i + 1}")
    x = blocks.batch_norm(x, "bn", spec.bn_epsilon)
    return blocks.relu(x, "relu")


blocks.STEMS["densenet"] = functools.partial(blocks.imagenet_stem, pool_name="pool1")
builder.STAGES["dense"] = dense_stages


def _keras_row(model, top_hash, notop_hash):
    return weights_lib.keras_applications_row(model, top_hash, notop_hash, "torch", folder="densenet")


# "imagenet": the official Keras files (default); "tv_in1k": torchvision IMAGENET1K_V1;
# "timm_ra_in1k": timm's densenet121.ra_in1k. The PyTorch files convert on first use
# (`keras_resnets.convert.densenet`).
# fmt: off
for _row in (
    _keras_row("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    _keras_row("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    _keras_row("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
    torch_weights.torchvision_row("densenet121", "densenet121-a639ec97.pth", "tv_in1k"),
    torch_weights.torchvision_row("densenet169", "densenet169-b2777c0a.pth", "tv_in1k"),
    torch_weights.torchvision_row("densenet201", "densenet201-c1103571.pth", "tv_in1k"),
    torch_weights.timm_row("densenet121", "densenet121.ra_in1k", 288),
):
    weights_lib.register(_row)
# fmt: on

_DENSENET = dict(
    block="dense",
    stem="densenet",
    widths=(4 * GROWTH,) * 4,
    growth_rates=(GROWTH,) * 4,
    use_bias=False,
    preprocessing="torch",
    family="densenet",
    paper=PAPER,
)

SPECS = [
    Spec("DenseNet121", depths=(6, 12, 24, 16), **_DENSENET),
    Spec("DenseNet169", depths=(6, 12, 32, 32), **_DENSENET),
    Spec("DenseNet201", depths=(6, 12, 48, 32), **_DENSENET),
    Spec("DenseNet264", depths=(6, 12, 64, 48), **_DENSENET),
]

DenseNet121, DenseNet169, DenseNet201, DenseNet264 = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = functools.partial(imagenet.preprocess_input, mode="torch")
preprocess_input.__doc__ = "Torch-mode preprocessing ([0, 1], then ImageNet mean and std)."
decode_predictions = imagenet.decode_predictions
