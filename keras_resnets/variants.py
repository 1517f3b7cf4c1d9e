"""The shortcut variants the residual design is compared against, as spec options.

- Plain nets (`shortcut="none"`): the same blocks with no skip path, the baselines of
  He et al. 2015 (plain-20/32/44/56 on CIFAR-10, plain-18/34 on ImageNet).
- Highway nets (`shortcut="highway"`, Srivastava et al. 2015): the skip path is gated,
  y = T(x) * F(x) + (1 - T(x)) * x, with T a 1x1 sigmoid convolution whose bias starts
  negative, so every block starts close to carrying its input.
- Weighted residual nets (`residual_weight=True`, Shen & Zeng 2016, arXiv:1605.08831):
  the block's last ReLU moves into the branch, the branch is multiplied by a learnable
  scalar (`ResidualWeight`, initialised to 0) and nothing follows the sum. Usable on
  every spec, e.g. `create_model("resnet50", residual_weight=True)`.

CIFAR rows use He et al.'s CIFAR ResNet (keras_resnets.cifar); ImageNet rows use the
ResNet18/34 layout (torchvision's basic blocks).
"""

import dataclasses

from keras_resnets import cifar
from keras_resnets.registry import entrypoint
from keras_resnets.resnet import SPECS as IMAGENET_SPECS

HIGHWAY_PAPER = "Srivastava et al. 2015, arXiv:1507.06228"
PLAIN_PAPER = "He et al. 2015, arXiv:1512.03385 (plain baselines)"
WEIGHTED_PAPER = "Shen & Zeng 2016, arXiv:1605.08831"
_IMAGENET = {s.name: s for s in IMAGENET_SPECS}


def imagenet_spec(name, resnet, **options):
    return dataclasses.replace(_IMAGENET[resnet], name=name, **options)


CIFAR_DEPTHS = (20, 32, 44, 56, 110)
PLAIN = dict(shortcut="none", family="plain", paper=PLAIN_PAPER)
HIGHWAY = dict(shortcut="highway", family="highway", paper=HIGHWAY_PAPER)
WEIGHTED = dict(residual_weight=True, family="weighted_resnet", paper=WEIGHTED_PAPER)

SPECS = (
    [cifar.resnet_spec(f"PlainNet{d}", d, **PLAIN) for d in CIFAR_DEPTHS]
    + [imagenet_spec(f"PlainNet{d}", f"ResNet{d}", **PLAIN) for d in (18, 34)]
    + [cifar.resnet_spec(f"HighwayNet{d}", d, **HIGHWAY) for d in CIFAR_DEPTHS]
    + [imagenet_spec(f"HighwayNet{d}", f"ResNet{d}", **HIGHWAY) for d in (18, 34)]
    + [cifar.resnet_spec(f"WeightedResNet{d}", d, **WEIGHTED) for d in CIFAR_DEPTHS]
)
(
    PlainNet20,
    PlainNet32,
    PlainNet44,
    PlainNet56,
    PlainNet110,
    PlainNet18,
    PlainNet34,
    HighwayNet20,
    HighwayNet32,
    HighwayNet44,
    HighwayNet56,
    HighwayNet110,
    HighwayNet18,
    HighwayNet34,
    WeightedResNet20,
    WeightedResNet32,
    WeightedResNet44,
    WeightedResNet56,
    WeightedResNet110,
) = (entrypoint(s, __name__) for s in SPECS)
