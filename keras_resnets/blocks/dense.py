"""Dense connectivity (Huang et al. 2017): each layer's output is appended to its input.

Layer names, keras.applications' DenseNet (`{b}` = `conv{stage}_block{i}`):

    {b}_0_bn / _0_relu                  BN-ReLU of the input
    {b}_1_conv / _1_bn / _1_relu        1x1 bottleneck (4 x growth)
    {b}_2_conv                          3x3, `growth` new channels
    {b}_concat                          [input, new]
    pool{stage}_bn / _relu / _conv / _pool   transition after a stage
    bn, relu                            after the last stage
"""

from keras import layers

from keras_resnets.blocks.ops import batch_norm, channel_axis, conv, relu
from keras_resnets.blocks.pyramid import stage_plan

# The Spec options these stages read beyond every network's (`keras_resnets.core.options`).
OPTIONS = frozenset({"growth_rates", "compression"})


def dense_layer(x, spec, width, growth, name, dilation=1):
    """BN-ReLU-1x1 conv-BN-ReLU-3x3 conv, whose `growth` channels join the input."""
    y = batch_norm(x, f"{name}_0_bn", spec.bn_epsilon)
    y = relu(y, f"{name}_0_relu")
    y = conv(y, width, 1, 1, f"{name}_1", use_bias=False)
    y = batch_norm(y, f"{name}_1_bn", spec.bn_epsilon)
    y = relu(y, f"{name}_1_relu")
    y = conv(y, growth, 3, 1, f"{name}_2", use_bias=False, dilation=dilation)
    return layers.Concatenate(axis=channel_axis(), name=f"{name}_concat")([x, y])


def transition(x, spec, stride, applied, name, taps):
    """BN-ReLU, a 1x1 convolution keeping `spec.compression` of the channels, average pool
    (of `applied` stride); the BN-ReLU output is the previous level's tap."""
    channels = x.shape[channel_axis()]
    x = batch_norm(x, f"{name}_bn", spec.bn_epsilon)
    x = relu(x, f"{name}_relu")
    taps.before(x, stride)
    x = conv(x, int(channels * spec.compression), 1, 1, name, use_bias=False)
    return layers.AveragePooling2D(applied, strides=applied, name=f"{name}_pool")(x)


def dense_stages(x, spec, taps):
    """The dense stages; `spec.widths` are the 1x1 bottleneck widths (4 x growth)."""
    rows = zip(spec.depths, spec.widths, spec.growth_rates, stage_plan(spec))
    # The transition carries a stage's stride, so all of its dense layers come after it.
    for index, (depth, width, growth, (stride, applied, _, dilation)) in enumerate(rows):
        if index:  # the transition after the previous stage carries this stage's stride
            x = transition(x, spec, stride, applied, f"pool{index + 1}", taps)
        taps.begin_stage(x)  # after the transition: it closes the stage it follows
        for i in range(depth):
            x = dense_layer(x, spec, width, growth, f"conv{index + 2}_block{i + 1}", dilation)
    x = batch_norm(x, "bn", spec.bn_epsilon)
    return taps.finish(relu(x, "relu"))
