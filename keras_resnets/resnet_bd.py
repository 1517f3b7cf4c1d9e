"""ResNet-B and ResNet-D (He et al. 2019, "Bag of Tricks for Image Classification").

ResNet-B ("v1.5") moves a bottleneck's stride from the first 1x1 to the 3x3 convolution:
the layout of torchvision and timm (bias-free convolutions, BatchNorm epsilon 1e-5), so
their checkpoints convert. `ResNet50` keeps the keras.applications layout; ResNet18/34
(basic blocks, no 1x1 to move the stride from) already are torchvision's.

ResNet-D adds a deep stem (three 3x3 convolutions, 32-32-64) and average-pools in the
projection shortcut instead of striding its 1x1 convolution (timm's `resnet50d`).
"""

import functools

from keras_resnets import imagenet, torch_weights  # noqa: F401 (rows before entrypoints)
from keras_resnets.registry import entrypoint
from keras_resnets.specs import Spec

PAPER = "He et al. 2019, arXiv:1812.01187"
# The torchvision/timm convention that every PyTorch-trained family here shares.
TORCH_LAYOUT = dict(stride_conv="3x3", use_bias=False, bn_epsilon=1e-5, preprocessing="torch")
RESNET_D = dict(stem="deep", shortcut="avg_down", **TORCH_LAYOUT)
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def block_kind(depth):
    """torchvision's choice: basic blocks below 50 layers, bottlenecks from 50 on."""
    return "basic" if depth < 50 else "bottleneck"


SPECS = [
    Spec(f"ResNet{d}B", depths=DEPTHS[d], paper=PAPER, **TORCH_LAYOUT) for d in (50, 101, 152)
] + [
    Spec(f"ResNet{d}D", depths=DEPTHS[d], block=block_kind(d), paper=PAPER, **RESNET_D)
    for d in (18, 34, 50, 101, 152)
]

(
    ResNet50B,
    ResNet101B,
    ResNet152B,
    ResNet18D,
    ResNet34D,
    ResNet50D,
    ResNet101D,
    ResNet152D,
) = (entrypoint(s, __name__) for s in SPECS)

preprocess_input = functools.partial(imagenet.preprocess_input, mode="torch")
preprocess_input.__doc__ = "Torch-mode preprocessing ([0, 1], then ImageNet mean/std)."
decode_predictions = imagenet.decode_predictions
