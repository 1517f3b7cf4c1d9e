"""CIFAR residual networks: He et al.'s 6n+2 ResNets and Zagoruyko & Komodakis' WRN-d-k.

ResNet20/32/44/56/110/1202 (He et al. 2015, section 4.2): a 3x3 stem with 16 filters,
three stages of n basic blocks with 16/32/64 filters at 32/16/8 px, and parameter-free
option-A shortcuts (stride-2 subsampling, zero channels padded equally before and after).
`weights="cifar10"` loads the published checkpoints of akamaster/pytorch_resnet_cifar10
(BSD-2-Clause, Yerlan Idelbayev) for depths 20 to 56, converted on first use; they expect
`preprocess_input` ([0, 1] RGB, then ImageNet mean and std, as that repository trained).

WRN-d-k (Zagoruyko & Komodakis 2016): pre-activation basic blocks, (d - 4) / 6 per stage,
16k/32k/64k filters, 1x1 projections where the width changes, optional dropout between
the two convolutions. `WRN16_8`, `WRN28_10`, `WRN40_4` are registered; every other
depth and width is `create_model("wrn-d-k")` (e.g. "wrn-22-8", `dropout=0.3`).
"""

import functools

from keras_resnets import imagenet, registry, weights
from keras_resnets.convert import load_converted, by_prefix, MAPPINGS
from keras_resnets.convert.resnet import torch_prefix
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

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
AKAMASTER_URL = (
    "https://raw.githubusercontent.com/akamaster/pytorch_resnet_cifar10/"
    "d5489e8995e81e91ce6b1d69dcc98ad579b0b153/pretrained_models/"
)
# File name (its suffix is the SHA-256 prefix, torch.hub style) and full SHA-256.
# ResNet110/1202 have files upstream too, but their full hashes are not known here.
# fmt: off
AKAMASTER_FILES = {
    "resnet20": ("resnet20-12fca82f.th", "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"),
    "resnet32": ("resnet32-d509ac18.th", "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850"),
    "resnet44": ("resnet44-014dd654.th", "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4"),
    "resnet56": ("resnet56-4bfd9763.th", "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"),
}
# fmt: on


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


def _akamaster_row(model):
    fname, sha256 = AKAMASTER_FILES[model]
    return weights.WeightsEntry(
        model=model,
        tag="cifar10",
        url=AKAMASTER_URL + fname,
        file_hash=sha256,
        layout="akamaster_th",
        classes=10,
        resolution=32,
        preprocessing="torch",
        source="akamaster/pytorch_resnet_cifar10",
        license="BSD-2-Clause (Yerlan Idelbayev)",
    )


# akamaster's state dicts use torchvision's names, with the classifier called `linear`.
MAPPINGS["cifar_resnet"] = by_prefix(
    lambda layer, spec: "linear" if layer == "predictions" else torch_prefix(layer, spec),
    head_keys=("linear.weight", "linear.bias"),
)
weights.LOADERS["akamaster_th"] = load_converted
for _model in AKAMASTER_FILES:
    weights.register(_akamaster_row(_model))

DEPTHS = (20, 32, 44, 56, 110, 1202)
SPECS = [resnet_spec(f"ResNet{d}", d) for d in DEPTHS] + [
    wrn_spec(16, 8),
    wrn_spec(28, 10),
    wrn_spec(40, 4),
]
(ResNet20, ResNet32, ResNet44, ResNet56, ResNet110, ResNet1202, WRN16_8, WRN28_10, WRN40_4) = (
    entrypoint(s, __name__) for s in SPECS
)
registry.register_pattern(r"wrn-(\d+)-(\d+)", lambda d, k: wrn_spec(int(d), int(k)))

preprocess_input = functools.partial(imagenet.preprocess_input, mode="torch")
preprocess_input.__doc__ = (
    "Torch-mode preprocessing ([0, 1] RGB, then ImageNet mean/std), as the akamaster "
    "CIFAR-10 checkpoints were trained."
)
