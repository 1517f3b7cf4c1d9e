"""CIFAR residual networks: He et al.'s 6n+2 ResNets and Zagoruyko & Komodakis' WRN-d-k.

ResNet20/32/44/56/110/1202 (He et al. 2015, section 4.2): a 3x3 stem with 16 filters,
three stages of n basic blocks with 16/32/64 filters at 32/16/8 px, and parameter-free
option-A shortcuts (stride-2 subsampling, zero channels padded equally before and after).
`weights="cifar10"` loads the published checkpoints of akamaster/pytorch_resnet_cifar10
(BSD-2-Clause, Yerlan Idelbayev) for depths 20 to 56 (rows in `keras_resnets.weights.rows`),
converted on first use; they expect `preprocess_input` ([0, 1] RGB, then ImageNet mean and
std, as that repository trained).

WRN-d-k (Zagoruyko & Komodakis 2016): pre-activation basic blocks, (d - 4) / 6 per stage,
16k/32k/64k filters, 1x1 projections where the width changes, optional dropout between
the two convolutions. `WRN16_8`, `WRN28_10`, `WRN40_4` are registered; every other
depth and width is `create_model("wrn-d-k")` (e.g. "wrn-22-8", `dropout=0.3`).
"""

import re

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

RESNET_PAPER = "He et al. 2015, arXiv:1512.03385 (CIFAR-10, section 4.2)"
WRN_PAPER = "Zagoruyko & Komodakis 2016, arXiv:1605.07146"
# The layout of PyTorch CIFAR code: bias-free convolutions, BatchNorm epsilon 1e-5.
CIFAR = dict(
    block="basic",
    widths=(16, 32, 64),
    strides=(1, 2, 2),
    stem="cifar",
    stem_width=16,
    use_bias=False,
    bn_epsilon=1e-5,
    default_size=32,
    classes=10,
    preprocessing="torch",
)


def blocks_per_stage(depth, extra_layers):
    """n of a CIFAR net of `depth` = 6n + `extra_layers` (2 for ResNet, 4 for WRN)."""
    n, rest = divmod(depth - extra_layers, 6)
    if rest or n < 1:
        raise ValueError(f"Depth {depth} is not 6n+{extra_layers} for a whole n >= 1.")
    return n


def resnet_spec(name, depth, **options):
    """He et al.'s CIFAR ResNet of `depth` = 6n+2 layers; `options` override Spec fields."""
    fields = dict(CIFAR, shortcut="zeropad", family="cifar_resnet", paper=RESNET_PAPER)
    fields.update(options)
    return Spec(name, depths=(blocks_per_stage(depth, 2),) * 3, **fields)


def wrn_spec(depth, width, dropout=0.0):
    widths = tuple(w * width for w in CIFAR["widths"])
    return Spec(
        f"WRN{depth}_{width}",
        depths=(blocks_per_stage(depth, 4),) * 3,
        **dict(CIFAR, widths=widths, preact=True, dropout=dropout, family="wrn", paper=WRN_PAPER),
    )


# "wrn-d-k" names any WRN (the registry's `PATTERNS`).
WRN_PATTERN = (re.compile(r"wrn-(\d+)-(\d+)"), lambda d, k: wrn_spec(int(d), int(k)))

ResNet20 = entrypoint(resnet_spec("ResNet20", 20), __name__)
ResNet32 = entrypoint(resnet_spec("ResNet32", 32), __name__)
ResNet44 = entrypoint(resnet_spec("ResNet44", 44), __name__)
ResNet56 = entrypoint(resnet_spec("ResNet56", 56), __name__)
ResNet110 = entrypoint(resnet_spec("ResNet110", 110), __name__)
ResNet1202 = entrypoint(resnet_spec("ResNet1202", 1202), __name__)
WRN16_8 = entrypoint(wrn_spec(16, 8), __name__)
WRN28_10 = entrypoint(wrn_spec(28, 10), __name__)
WRN40_4 = entrypoint(wrn_spec(40, 4), __name__)

# [0, 1] RGB, then ImageNet mean/std, as the akamaster CIFAR-10 checkpoints were trained.
preprocess_input = imagenet.preprocessor("torch")
