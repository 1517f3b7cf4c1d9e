"""torchvision-layout ResNets: ResNet18/34, ResNet-B and ResNet-D (He et al. 2019, "Bag of Tricks").

The layout of torchvision and timm (bias-free convolutions, BatchNorm epsilon 1e-5, "torch"
preprocessing), so their checkpoints convert. ResNet18/34 use basic blocks (He et al.
2015). ResNet-B ("v1.5") moves a bottleneck's stride from the first 1x1 to the 3x3
convolution: torchvision's `resnet50`, while `keras_resnets.ResNet50` keeps the
keras.applications layout. ResNet-D adds a deep stem (three 3x3 convolutions, 32-32-64)
and average-pools in the projection shortcut instead of striding its 1x1 convolution
(timm's `resnet50d`).
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

PAPER = "He et al. 2019, arXiv:1812.01187"
RESNET_PAPER = "He et al. 2015, arXiv:1512.03385"
# The torchvision/timm convention that every PyTorch-trained family here shares, and its
# bottleneck, with the stride in the 3x3 ("v1.5"; a basic block has no 1x1 to move it from).
TORCH_LAYOUT = dict(use_bias=False, bn_epsilon=1e-5, preprocessing="torch")
BOTTLENECK = dict(block="bottleneck", stride_conv="3x3", **TORCH_LAYOUT)
# torchvision's choice: basic blocks below 50 layers, bottlenecks from 50 on.
BASIC = dict(block="basic", **TORCH_LAYOUT)
RESNET_D = dict(stem="deep", shortcut="avg_down", **BOTTLENECK)
BASIC_D = dict(stem="deep", shortcut="avg_down", **BASIC)
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

ResNet18 = entrypoint(Spec("ResNet18", depths=DEPTHS[18], paper=RESNET_PAPER, **BASIC), __name__)
ResNet34 = entrypoint(Spec("ResNet34", depths=DEPTHS[34], paper=RESNET_PAPER, **BASIC), __name__)
ResNet50B = entrypoint(Spec("ResNet50B", depths=DEPTHS[50], paper=PAPER, **BOTTLENECK), __name__)
ResNet101B = entrypoint(Spec("ResNet101B", depths=DEPTHS[101], paper=PAPER, **BOTTLENECK), __name__)
ResNet152B = entrypoint(Spec("ResNet152B", depths=DEPTHS[152], paper=PAPER, **BOTTLENECK), __name__)
ResNet18D = entrypoint(Spec("ResNet18D", depths=DEPTHS[18], paper=PAPER, **BASIC_D), __name__)
ResNet26D = entrypoint(Spec("ResNet26D", depths=(2, 2, 2, 2), paper=PAPER, **RESNET_D), __name__)
ResNet34D = entrypoint(Spec("ResNet34D", depths=DEPTHS[34], paper=PAPER, **BASIC_D), __name__)
ResNet50D = entrypoint(Spec("ResNet50D", depths=DEPTHS[50], paper=PAPER, **RESNET_D), __name__)
ResNet101D = entrypoint(Spec("ResNet101D", depths=DEPTHS[101], paper=PAPER, **RESNET_D), __name__)
ResNet152D = entrypoint(Spec("ResNet152D", depths=DEPTHS[152], paper=PAPER, **RESNET_D), __name__)

preprocess_input = imagenet.preprocessor("torch")
decode_predictions = imagenet.decode_predictions
