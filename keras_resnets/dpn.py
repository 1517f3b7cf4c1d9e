"""Dual Path Networks (Chen et al. 2017, "Dual Path Networks").

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

import dataclasses
import functools

from keras import layers

from keras_resnets import blocks, builder, imagenet, torch_weights
from keras_resnets import weights as weights_lib
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

PAPER = "Chen et al. 2017, arXiv:1707.01629"


def _bn_relu(x, spec, name):
    x = blocks.batch_norm(x, f"{name}_bn", spec.bn_epsilon)
    return blocks.relu(x, f"{name}_relu")


def dual_path_block(x, paths, spec, width, inner, growth, stride, name):
    """One block; `x` is `[residual, dense]`, `paths` the two tensors, or None to project."""
    if paths is None:
        y = _bn_relu(x, spec, f"{name}_proj")
        residual = blocks.conv(y, width, 1, stride, f"{name}_proj_res", use_bias=False)
        dense = blocks.conv(y, 2 * growth, 1, stride, f"{name}_proj_dense", use_bias=False)
    else:
        residual, dense = paths
    y = blocks.conv(_bn_relu(x, spec, f"{name}_1"), inner, 1, 1, f"{name}_1", use_bias=False)
    y = _bn_relu(y, spec, f"{name}_2")
    y = blocks.conv(y, inner, 3, stride, f"{name}_2", use_bias=False, groups=spec.groups)
    y = _bn_relu(y, spec, f"{name}_3")
    new_residual = blocks.conv(y, width, 1, 1, f"{name}_3_res", use_bias=False)
    new_dense = blocks.conv(y, growth, 1, 1, f"{name}_3_dense", use_bias=False)
    residual = layers.Add(name=f"{name}_add")([residual, new_residual])
    axis = blocks.channel_axis()
    dense = layers.Concatenate(axis=axis, name=f"{name}_dense")([dense, new_dense])
    x = layers.Concatenate(axis=axis, name=f"{name}_out")([residual, dense])
    return x, (residual, dense)


def dual_path_stages(x, spec):
    rows = zip(spec.depths, spec.widths, spec.growth_rates, spec.strides)
    for index, (depth, width, growth, stride) in enumerate(rows):
        inner = spec.groups * spec.base_width * 2**index
        paths = None
        for i in range(depth):
            x, paths = dual_path_block(
                x,
                paths,
                spec,
                width,
                inner,
                growth,
                stride if i == 0 else 1,
                f"conv{index + 2}_block{i + 1}",
            )
    # timm's "conv5_bn_ac": BN + ReLU. Its `fc_act_layer="elu"` argument does not reach
    # that layer (timm 1.0.31 builds a ReLU there), so neither do we.
    return _bn_relu(x, spec, "post")


builder.STAGES["dual_path"] = dual_path_stages

# timm's weights (the MXNet originals, "mx_in1k", and timm's own DPN68b training,
# "ra_in1k"), converted on first use by `keras_resnets.convert.dpn`.
# fmt: off
for _model, _tag, _resolution in (
    ("dpn68", "mx_in1k", 224), ("dpn68b", "mx_in1k", 224), ("dpn68b", "ra_in1k", 288),
    ("dpn92", "mx_in1k", 224), ("dpn98", "mx_in1k", 224), ("dpn107", "mx_in1k", 224),
    ("dpn131", "mx_in1k", 224),
):
    _row = torch_weights.timm_row(_model, f"{_model}.{_tag}", _resolution)
    weights_lib.register(
        dataclasses.replace(_row, preprocessing="dpn") if _tag == "mx_in1k" else _row
    )
# fmt: on

_DPN = dict(
    block="dual_path",
    use_bias=False,
    bn_epsilon=1e-3,
    preprocessing="dpn",
    family="dpn",
    paper=PAPER,
)
_SMALL = dict(stem_width=10, stem_kernel=3, widths=(64, 128, 256, 512), groups=32, base_width=4)
_LARGE = dict(widths=(256, 512, 1024, 2048))

SPECS = [
    Spec("DPN68", depths=(3, 4, 12, 3), growth_rates=(16, 32, 32, 64), **_SMALL, **_DPN),
    # DPN68b's layers are DPN68's (timm's "b" only stores the last 1x1 convolution as
    # two kernels); its default timm weights were trained with the usual ImageNet mean/std.
    Spec("DPN68b", depths=(3, 4, 12, 3), growth_rates=(16, 32, 32, 64), **_SMALL,
         **{**_DPN, "preprocessing": "torch"}),
    Spec("DPN92", depths=(3, 4, 20, 3), growth_rates=(16, 32, 24, 128), stem_width=64,
         groups=32, base_width=3, **_LARGE, **_DPN),
    Spec("DPN98", depths=(3, 6, 20, 3), growth_rates=(16, 32, 32, 128), stem_width=96,
         groups=40, base_width=4, **_LARGE, **_DPN),
    Spec("DPN107", depths=(4, 8, 20, 3), growth_rates=(20, 64, 64, 128), stem_width=128,
         groups=50, base_width=4, **_LARGE, **_DPN),
    Spec("DPN131", depths=(4, 8, 28, 3), growth_rates=(16, 32, 32, 128), stem_width=128,
         groups=40, base_width=4, **_LARGE, **_DPN),
]  # fmt: skip

DPN68, DPN68b, DPN92, DPN98, DPN107, DPN131 = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = functools.partial(imagenet.preprocess_input, mode="dpn")
preprocess_input.__doc__ = "DPN-mode preprocessing (RGB, mean (124, 117, 104) subtracted, x 0.0167)."
decode_predictions = imagenet.decode_predictions
