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

from keras_resnets import cifar, imagenet, resnet_bd
from keras_resnets.core.entrypoint import entrypoint

PLAIN = dict(shortcut="none", family="plain", paper="He et al. 2015, arXiv:1512.03385 (plain baselines)")
HIGHWAY = dict(shortcut="highway", family="highway", paper="Srivastava et al. 2015, arXiv:1507.06228")
WEIGHTED = dict(residual_weight=True, family="weighted_resnet", paper="Shen & Zeng 2016, arXiv:1605.08831")


def imagenet_spec(name, resnet, **options):
    """A variant of torchvision's ResNet18/34 (`resnet` is the constructor)."""
    return dataclasses.replace(resnet.spec, name=name, **options)


PlainNet20 = entrypoint(cifar.resnet_spec("PlainNet20", 20, **PLAIN), __name__)
PlainNet32 = entrypoint(cifar.resnet_spec("PlainNet32", 32, **PLAIN), __name__)
PlainNet44 = entrypoint(cifar.resnet_spec("PlainNet44", 44, **PLAIN), __name__)
PlainNet56 = entrypoint(cifar.resnet_spec("PlainNet56", 56, **PLAIN), __name__)
PlainNet110 = entrypoint(cifar.resnet_spec("PlainNet110", 110, **PLAIN), __name__)
PlainNet18 = entrypoint(imagenet_spec("PlainNet18", resnet_bd.ResNet18, **PLAIN), __name__)
PlainNet34 = entrypoint(imagenet_spec("PlainNet34", resnet_bd.ResNet34, **PLAIN), __name__)
HighwayNet20 = entrypoint(cifar.resnet_spec("HighwayNet20", 20, **HIGHWAY), __name__)
HighwayNet32 = entrypoint(cifar.resnet_spec("HighwayNet32", 32, **HIGHWAY), __name__)
HighwayNet44 = entrypoint(cifar.resnet_spec("HighwayNet44", 44, **HIGHWAY), __name__)
HighwayNet56 = entrypoint(cifar.resnet_spec("HighwayNet56", 56, **HIGHWAY), __name__)
HighwayNet110 = entrypoint(cifar.resnet_spec("HighwayNet110", 110, **HIGHWAY), __name__)
HighwayNet18 = entrypoint(imagenet_spec("HighwayNet18", resnet_bd.ResNet18, **HIGHWAY), __name__)
HighwayNet34 = entrypoint(imagenet_spec("HighwayNet34", resnet_bd.ResNet34, **HIGHWAY), __name__)
WeightedResNet20 = entrypoint(cifar.resnet_spec("WeightedResNet20", 20, **WEIGHTED), __name__)
WeightedResNet32 = entrypoint(cifar.resnet_spec("WeightedResNet32", 32, **WEIGHTED), __name__)
WeightedResNet44 = entrypoint(cifar.resnet_spec("WeightedResNet44", 44, **WEIGHTED), __name__)
WeightedResNet56 = entrypoint(cifar.resnet_spec("WeightedResNet56", 56, **WEIGHTED), __name__)
WeightedResNet110 = entrypoint(cifar.resnet_spec("WeightedResNet110", 110, **WEIGHTED), __name__)

# Every variant here has the torch layout of the nets it varies (CIFAR ResNets, ResNet18/34).
preprocess_input = imagenet.preprocessor("torch")
