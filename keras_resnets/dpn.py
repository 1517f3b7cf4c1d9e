"""Dual Path Networks (Chen et al. 2017, "Dual Path Networks"), in timm's layout.

Each block feeds a residual path and a dense path (`keras_resnets.blocks.dual_path`,
whose docstring has the layer names); timm's weights convert (`keras_resnets.convert.dpn`).
`spec.widths` are the residual-path widths; the bottleneck width is
`groups * base_width * 2**stage`, the paper's "32x3d" notation (DPN92).

Preprocessing: the MXNet weights (`timm_mx_in1k`, every model's first row) expect "dpn"
mode, `preprocess_input` here. DPN68b's `timm_ra_in1k` was trained with "torch" mode;
`include_preprocessing=True` and `keras_resnets.preprocess_input(x, "dpn68b",
weights="timm_ra_in1k")` follow the row, so they are right for either.
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

DPN = dict(
    block="dual_path",
    use_bias=False,
    bn_epsilon=1e-3,
    preprocessing="dpn",
    family="dpn",
    paper="Chen et al. 2017, arXiv:1707.01629",
)
SMALL = dict(stem_width=10, stem_kernel=3, widths=(64, 128, 256, 512), groups=32, base_width=4, **DPN)
LARGE = dict(widths=(256, 512, 1024, 2048), **DPN)

DPN68 = entrypoint(Spec("DPN68", depths=(3, 4, 12, 3), growth_rates=(16, 32, 32, 64), **SMALL), __name__)
# DPN68b's layers are DPN68's (timm's "b" only stores the last 1x1 convolution as two kernels).
DPN68b = entrypoint(Spec("DPN68b", depths=(3, 4, 12, 3), growth_rates=(16, 32, 32, 64), **SMALL), __name__)
DPN92 = entrypoint(Spec("DPN92", depths=(3, 4, 20, 3), growth_rates=(16, 32, 24, 128), stem_width=64,
                        groups=32, base_width=3, **LARGE), __name__)  # fmt: skip
DPN98 = entrypoint(Spec("DPN98", depths=(3, 6, 20, 3), growth_rates=(16, 32, 32, 128), stem_width=96,
                        groups=40, base_width=4, **LARGE), __name__)  # fmt: skip
DPN107 = entrypoint(Spec("DPN107", depths=(4, 8, 20, 3), growth_rates=(20, 64, 64, 128), stem_width=128,
                         groups=50, base_width=4, **LARGE), __name__)  # fmt: skip
DPN131 = entrypoint(Spec("DPN131", depths=(4, 8, 28, 3), growth_rates=(16, 32, 32, 128), stem_width=128,
                         groups=40, base_width=4, **LARGE), __name__)  # fmt: skip

preprocess_input = imagenet.preprocessor("dpn")
decode_predictions = imagenet.decode_predictions
