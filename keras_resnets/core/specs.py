"""Architecture specs: the data that the one builder turns into a model.

A spec says *what* a network is (stem, stage depths and widths, block kind, where the
stride goes, attention, ...); `keras_resnets.builder.build_model` says *how* to lay
it out as Keras layers. Weight files are kept apart, in `keras_resnets.weights`.
"""

import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Spec:
    """One residual network, as plain data.

    Fields that later families use (groups, base_width, attention, residual_weight,
    shortcut, stem) have the defaults of the keras.applications ResNets, so a ResNet
    row only names what differs.
    """

    # Public entrypoint name (e.g. "ResNet50V2"); the registry name is its lower case.
    name: str
    depths: Tuple[int, ...]
    # Bottleneck/basic inner widths per stage; the stage output is width * expansion.
    widths: Tuple[int, ...] = (64, 128, 256, 512)
    block: str = "bottleneck"  # "bottleneck" (1x1-3x3-1x1) or "basic" (3x3-3x3)
    preact: bool = False  # pre-activation (He et al. 2016, "V2") blocks
    # Stage strides; the stem already divides by 4 on ImageNet.
    strides: Tuple[int, ...] = (1, 2, 2, 2)
    # None, or 8/16: dilate the stages past that stride instead of striding (segmentation
    # backbones; `keras_resnets.blocks.pyramid`). Weight shapes are unchanged.
    output_stride: Optional[int] = None
    # Which block of a stage carries the stride: "first" (He et al., torchvision) or
    # "last" (the keras.applications V2 layout, whose official weights need it).
    stride_block: str = "first"
    # Where the stride sits inside a bottleneck: "1x1" (original Caffe/keras) or "3x3"
    # (ResNet v1.5 / "B", torchvision and timm).
    stride_conv: str = "1x1"
    # "imagenet" (7x7/2 conv + 3x3/2 max-pool) or "deep" (ResNet-C/D: three 3x3 convs,
    # stem_width/2, stem_width/2, stem_width, then the max-pool).
    stem: str = "imagenet"
    stem_width: int = 64
    use_bias: bool = True  # biases on convolutions (keras.applications) or not (torchvision)
    bn_epsilon: float = 1.001e-5
    groups: int = 1  # ResNeXt cardinality of the 3x3 convolution
    base_width: int = 64  # ResNeXt/WRN width per group, relative to 64
    attention: Optional[str] = None  # None, "se" or "cbam", on the residual branch
    # Projection shortcut: "projection" (strided 1x1 conv + BN) or "avg_down" (ResNet-D:
    # 2x2 average pool, then a stride-1 1x1 conv + BN).
    # Or parameter-free (keras_resnets.shortcuts): "zeropad" (He et al. option A: subsample,
    # then zero channels padded equally before and after), "highway" (gated carry,
    # Srivastava et al. 2015) or "none" (plain nets).
    shortcut: str = "projection"
    residual_weight: bool = False  # Shen & Zeng 2016: ReLU inside the branch, learnable scalar
    dropout: float = 0.0  # between the convolutions of a block (WRN)
    classes: int = 1000  # default `classes` of the entrypoint (10 for the CIFAR rows)
    # Dense connectivity (DenseNet, DPN): channels each block appends, per stage.
    growth_rates: Tuple[int, ...] = ()
    compression: float = 0.5  # DenseNet transitions keep this fraction of the channels
    stem_kernel: int = 7  # of the "imagenet" stem's strided convolution (3 in DPN68)
    default_size: int = 224
    # Preprocessing of the weights the family was trained with (imagenet_utils modes).
    preprocessing: str = "caffe"
    family: str = "resnet"
    paper: str = ""

    @property
    def expansion(self):
        return 4 if self.block == "bottleneck" else 1

    @property
    def registry_name(self):
        return self.name.lower()

    def stage_outputs(self):
        return tuple(w * self.expansion for w in self.widths)
