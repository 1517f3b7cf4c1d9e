"""Where each stage's stride goes, and the feature-pyramid taps and stage ends recorded
while stages build.

A tap is the last feature map at a resolution, named `P{level}` with level = log2 of its
stride (P2 at stride 4 ... P5 at 32 for ImageNet nets; P0, P1, P2 for the CIFAR nets). It is
recorded just before a block (or transition) halves the resolution, and once at the end,
so in keras.applications' V2 layout, whose stride sits in the *last* block of a stage, P2
is `conv2_block2_out`, not the stage's last block.

`Spec.output_stride` (8 or 16) trades resolution for compute as torchvision's
`replace_stride_with_dilation` does: a stage that would take the network past that stride
keeps its resolution instead, and the 3x3 convolutions after the stride it gave up dilate
by that stride (the block that would have carried it, and any before it, keep the
dilation they had, so everything up to there computes what the undilated network does).
Shapes of weights do not change, so pretrained files still load. Taps keep their nominal
level: with output_stride=16, P4 and P5 are both at stride 16.

The stage ends are the last feature map of the stem and of every stage (a stage's final
normalisation, or DenseNet's transition after it, included: the layers keras.applications
names after that stage), which the builder keeps as `model.stage_outputs`: the training
core freezes and unfreezes backbone stages from them (`keras_resnets.training.freezing`).
"""

import math

STEM_STRIDES = {"imagenet": 4, "deep": 4, "densenet": 4, "cifar": 1}


def stage_plan(spec):
    """Per stage `(nominal stride, stride applied, dilation up to and in the block that
    carries the stride, dilation after it)`."""
    current = STEM_STRIDES[spec.stem]
    if spec.output_stride is not None and (
        spec.output_stride < current or spec.output_stride & (spec.output_stride - 1)
    ):
        raise ValueError(
            f"output_stride must be a power of 2 of at least {current} (the stem's stride), "
            f"e.g. 8 or 16. Received: output_stride={spec.output_stride}"
        )
    plan, dilation = [], 1
    for stride in spec.strides:
        if spec.output_stride is not None and current * stride > spec.output_stride:
            plan.append((stride, 1, dilation, dilation * stride))
            dilation *= stride
        else:
            current *= stride
            plan.append((stride, stride, dilation, dilation))
    return plan


class Taps:
    """Collects `{"P<level>": tensor}` and the stage ends as the stages are built."""

    def __init__(self, spec):
        self.level = int(math.log2(STEM_STRIDES[spec.stem]))
        self.tensors = {}
        self.stage_ends = []

    def begin_stage(self, x):
        """Called as a stage begins: x ends what came before (the stem, or the stage before)."""
        self.stage_ends.append(x)

    def before(self, x, stride):
        """Called before a block of nominal `stride`: x is final at its level when stride > 1."""
        if stride > 1:
            self.tensors[f"P{self.level}"] = x
            self.level += int(math.log2(stride))

    def finish(self, x):
        """x ends the network: the last level's tap and the last stage's end."""
        self.tensors[f"P{self.level}"] = x
        self.stage_ends.append(x)
        return x
