"""The CIFAR nets the studies compare, named `<family><depth>`: plainnet20, resnet56, ...

Families differ only in the shortcut, everything else is He et al.'s 6n+2 CIFAR layout
(`keras_resnets.cifar.resnet_spec`), so any depth 6n+2 builds, registered or not:

    plainnet        no shortcut (He et al.'s plain baseline)
    resnet          identity / option-A shortcut, post-activation (v1)
    preactresnet    the same with pre-activation blocks (He et al. 2016, "v2")
    highwaynet      gated carry (Srivastava et al. 2015)
    weightedresnet  branch times a learnable scalar that starts at 0 (Shen & Zeng 2016)

`width` is the first stage's filters (16 in the papers; 16/32/64 per stage), smaller for
quick runs on a CPU. Models take RGB in [0, 255]: the preprocessing of the CIFAR-10
weights is their first layer, so trained and pretrained nets see the same inputs.
"""

import re

from keras_resnets import cifar, variants
from keras_resnets.core import builder

FAMILIES = {
    "plainnet": ("PlainNet", variants.PLAIN),
    "resnet": ("ResNet", {}),
    "preactresnet": ("PreactResNet", dict(preact=True, paper="He et al. 2016, arXiv:1603.05027")),
    "highwaynet": ("HighwayNet", variants.HIGHWAY),
    "weightedresnet": ("WeightedResNet", variants.WEIGHTED),
}
PAPER_WIDTH = 16
NAME = re.compile(r"([a-z]+)(\d+)")


def parse(name):
    """(family, depth) of a net name such as "resnet56"."""
    match = NAME.fullmatch(name.lower())
    if not match or match.group(1) not in FAMILIES:
        raise ValueError(
            f"Unknown net {name!r}: use <family><depth> with a family of "
            f"{', '.join(FAMILIES)} and a depth 6n+2 (e.g. plainnet20, resnet56)."
        )
    return match.group(1), int(match.group(2))


def spec(name, width=PAPER_WIDTH):
    """The spec of net `name` at `width`; at the papers' width its name is the registry's."""
    family, depth = parse(name)
    title, options = FAMILIES[family]
    suffix = "" if width == PAPER_WIDTH else f"_w{width}"
    return cifar.resnet_spec(
        f"{title}{depth}{suffix}",
        depth,
        **options,
        widths=(width, 2 * width, 4 * width),
        stem_width=width,
    )


def build(name, weights=None, width=PAPER_WIDTH, classes=10):
    """Net `name` with `weights`: None (random), a tag ("cifar10") or a weights file."""
    return builder.build_model(
        spec(name, width), weights=weights, classes=classes, include_preprocessing=True
    )


def family_nets(families, depth):
    """["plainnet20", "resnet20"] for families "plainnet,resnet" and depth 20."""
    names = [f"{family.strip().lower()}{depth}" for family in families]
    for name in names:
        parse(name)
    return names
