"""Architecture specs: the data that the one builder turns into a model.

A spec says *what* a network is (stem, stage depths and widths, block kind, where the
stride goes, attention, ...); `keras_resnets.core.builder.build_model` says *how* to lay
it out as Keras layers. Weight files are kept apart, in `keras_resnets.weights`.

A spec says no: each block kind and stem reads only some fields
(`keras_resnets.core.options`), and a field that its kind does not read must keep its
default, so `Spec("X", depths=..., block="dense", attention="se")` raises instead of
building a DenseNet without attention.
"""

import dataclasses
import hashlib
from typing import Optional, Tuple

from keras_resnets.core import options

# Options that regularise training and leave every weight's name and shape as they are:
# changing them is not a new architecture, so they neither turn a model's default weights
# off nor change the name its conversions are cached under (`architecture_digest`).
TRAINING_OPTIONS = frozenset({"dropout", "drop_path_rate"})


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
    # "bottleneck" (1x1-3x3-1x1), "basic" (3x3-3x3), "dense" (DenseNet) or "dual_path" (DPN).
    block: str = "bottleneck"
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
    # (ResNet v1.5 / "B", torchvision and timm). Basic blocks have no 1x1, so no choice.
    stride_conv: str = "1x1"
    # "imagenet" (7x7/2 conv + 3x3/2 max-pool), "deep" (ResNet-C/D: three 3x3 convs,
    # stem_width/2, stem_width/2, stem_width, then the max-pool), "cifar" (one 3x3 conv) or
    # "densenet" (the imagenet stem with keras.applications' DenseNet names).
    stem: str = "imagenet"
    stem_width: int = 64
    use_bias: bool = True  # biases on convolutions (keras.applications) or not (torchvision)
    bn_epsilon: float = 1.001e-5
    # Bottleneck and dual-path blocks: ResNeXt cardinality of the 3x3 convolution, and the
    # width per group, relative to 64 (ImageNet WRNs double it). Basic blocks take neither,
    # as torchvision's BasicBlock: a CIFAR WRN widens `widths` instead.
    groups: int = 1
    base_width: int = 64
    attention: Optional[str] = None  # None, "se" or "cbam", on the residual branch
    # Projection shortcut: "projection" (strided 1x1 conv + BN) or "avg_down" (ResNet-D:
    # 2x2 average pool, then a stride-1 1x1 conv + BN).
    # Or parameter-free (keras_resnets.blocks.shortcuts): "zeropad" (He et al. option A:
    # subsample, then zero channels padded equally before and after), "highway" (gated
    # carry, Srivastava et al. 2015) or "none" (plain nets).
    shortcut: str = "projection"
    residual_weight: bool = False  # Shen & Zeng 2016: ReLU inside the branch, learnable scalar
    dropout: float = 0.0  # between the convolutions of a block (WRN); a TRAINING_OPTION
    # Stochastic depth: the highest per-sample rate at which a block's residual branch is
    # dropped in training (timm's linear rule over the blocks, `blocks.shortcuts`); residual
    # and dual-path blocks, not DenseNet (no residual sum); a TRAINING_OPTION.
    drop_path_rate: float = 0.0
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
    # Bookkeeping, not architecture: the `architecture_digest` of the spec its entrypoint
    # registered (set by `keras_resnets.core.entrypoint`, None for a spec made by hand).
    # `dataclasses.replace` carries it over, so a spec changed from a registered one knows
    # it is changed without asking the registry (`is_registered`).
    registered: Optional[str] = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        options.check(self)

    @property
    def expansion(self):
        return 4 if self.block == "bottleneck" else 1

    @property
    def registry_name(self):
        return self.name.lower()

    def architecture_digest(self):
        """8 hex digits that change with every field but the training options and bookkeeping."""
        fields = [
            (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.compare and f.name not in TRAINING_OPTIONS
        ]
        return hashlib.sha1(repr(fields).encode()).hexdigest()[:8]

    @property
    def is_registered(self):
        """Whether this is its entrypoint's architecture (training options may differ), so
        the weights rows of its name fit it."""
        return self.registered == self.architecture_digest()

    def stage_outputs(self):
        return tuple(w * self.expansion for w in self.widths)
