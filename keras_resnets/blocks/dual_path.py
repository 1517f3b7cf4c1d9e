"""Dual path blocks (Chen et al. 2017), in timm's `dpn.py` layout.

Each block's 1x1-3x3(grouped)-1x1 bottleneck feeds two paths: its first outputs are
added to a residual path (ResNet-like, fixed width per stage), the rest are appended to
a dense path (DenseNet-like, growing by `growth_rates[stage]` per block). The layout
follows timm's `dpn.py`, so timm's weights convert (`keras_resnets.convert.dpn`).

timm carries both paths in one tensor and slices it; here they stay two tensors, which
needs no slicing layer: the last 1x1 convolution of a block, and the projection of a
stage's first block, are each two convolutions (one per path), whose kernels are the
two halves of timm's single kernel (DPN68b already has two there). Layer names, for
block i of stage s (2..5), `n = conv{s}_block{i}`:

    conv1_pad, conv1_conv, conv1_bn, conv1_relu, pool1_pad, pool1_pool   stem
    n_proj_bn / _proj_relu / _proj_res_conv / _proj_dense_conv        first block: both paths
    n_1_bn / _1_relu / _1_conv                                         1x1
    n_2_bn / _2_relu / _2_pad / _2_conv                                3x3, grouped, strided
    n_3_bn / _3_relu / _3_res_conv / _3_dense_conv                     1x1 onto each path
    n_add (residual path), n_dense (dense path), n_out ([residual, dense])
    post_bn, post_relu, avg_pool, max_pool, predictions                 head

`spec.widths` are the residual-path widths; the bottleneck width is
`groups * base_width * 2**stage`, the paper's "32x3d" notation (DPN92).
"""

from keras import layers

from keras_resnets.blocks import shortcuts
from keras_resnets.blocks.ops import batch_norm, channel_axis, conv, relu
from keras_resnets.blocks.pyramid import stage_plan

# The Spec options these stages read beyond every network's (`keras_resnets.core.options`).
OPTIONS = frozenset({"groups", "base_width", "growth_rates", "drop_path_rate"})


def _bn_relu(x, spec, name):
    x = batch_norm(x, f"{name}_bn", spec.bn_epsilon)
    return relu(x, f"{name}_relu")


def dual_path_block(x, paths, spec, width, inner, growth, stride, name, dilation=1, drop_rate=0.0):
    """One block; `x` is `[residual, dense]`, `paths` the two tensors, or None to project.

    `drop_rate`: stochastic depth of what the block adds to the residual path; the dense
    path's new channels are appended, not added, so nothing would stand in for them.
    """
    if paths is None:
        y = _bn_relu(x, spec, f"{name}_proj")
        residual = conv(y, width, 1, stride, f"{name}_proj_res", use_bias=False)
        dense = conv(y, 2 * growth, 1, stride, f"{name}_proj_dense", use_bias=False)
    else:
        residual, dense = paths
    y = conv(_bn_relu(x, spec, f"{name}_1"), inner, 1, 1, f"{name}_1", use_bias=False)
    y = _bn_relu(y, spec, f"{name}_2")
    y = conv(y, inner, 3, stride, f"{name}_2", use_bias=False, groups=spec.groups, dilation=dilation)
    y = _bn_relu(y, spec, f"{name}_3")
    new_residual = conv(y, width, 1, 1, f"{name}_3_res", use_bias=False)
    new_dense = conv(y, growth, 1, 1, f"{name}_3_dense", use_bias=False)
    residual = shortcuts.add(residual, new_residual, drop_rate, f"{name}_add")
    axis = channel_axis()
    dense = layers.Concatenate(axis=axis, name=f"{name}_dense")([dense, new_dense])
    x = layers.Concatenate(axis=axis, name=f"{name}_out")([residual, dense])
    return x, (residual, dense)


def dual_path_stages(x, spec, taps):
    rows = zip(spec.depths, spec.widths, spec.growth_rates, stage_plan(spec))
    drop_rates = iter(shortcuts.drop_path_rates(spec))
    for index, (depth, width, growth, (stride, applied, before, after)) in enumerate(rows):
        inner = spec.groups * spec.base_width * 2**index
        paths = None
        taps.begin_stage(x)
        for i in range(depth):
            taps.before(x, stride if i == 0 else 1)
            x, paths = dual_path_block(
                x,
                paths,
                spec,
                width,
                inner,
                growth,
                applied if i == 0 else 1,
                f"conv{index + 2}_block{i + 1}",
                before if i == 0 else after,
                next(drop_rates),
            )
    # timm's "conv5_bn_ac": BN + ReLU. Its `fc_act_layer="elu"` argument does not reach
    # that layer (timm 1.0.31 builds a ReLU there), so neither do we.
    return taps.finish(_bn_relu(x, spec, "post"))
