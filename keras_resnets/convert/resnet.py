"""torchvision/timm ResNet state-dict names for our ResNet layers.

torchvision's `ResNet` and timm's (B, D, wide, ResNeXt, SE, CBAM) share one naming:

    conv1, bn1                          stem (timm deep stem: conv1.0/.1/.3/.4/.6, then bn1)
    layer{s-1}.{i-1}.conv{j} / .bn{j}   j-th conv of block i of our stage s (conv{s}_block{i})
    layer{s-1}.{i-1}.downsample.0 / .1  projection conv / BN (avg_down: .1 / .2, .0 is the pool)
    layer{s-1}.{i-1}.se.fc1 / .fc2      SE reduce / expand
    ....se.channel.fc1 / .fc2, ....se.spatial.conv.conv / .bn   CBAM
    fc                                  classifier (akamaster's CIFAR ResNets: linear)
"""

import re

from keras_resnets.convert.checkpoint import by_prefix

# Our deep-stem conv j / BN j -> index in timm's `conv1` Sequential (conv, bn, relu, ...).
_DEEP_STEM = {"1_conv": 0, "1_bn": 1, "2_conv": 3, "2_bn": 4, "3_conv": 6}
_BLOCK = re.compile(r"conv(\d+)_block(\d+)_(.+)$")
_BLOCK_PARTS = {
    "se_reduce": "se.fc1",
    "se_expand": "se.fc2",
    "cbam_reduce": "se.channel.fc1",
    "cbam_expand": "se.channel.fc2",
    "cbam_spatial_conv": "se.spatial.conv.conv",
    "cbam_spatial_bn": "se.spatial.conv.bn",
}


def _block_part(part, spec):
    if part in _BLOCK_PARTS:
        return _BLOCK_PARTS[part]
    match = re.fullmatch(r"(\d)_(conv|bn)", part)
    if match is None:
        return None
    j, kind = int(match.group(1)), match.group(2)
    if j == 0:  # projection shortcut; avg_down puts its pool (or an Identity) at index 0
        offset = 1 if spec.shortcut == "avg_down" else 0
        return f"downsample.{offset + (kind == 'bn')}"
    return f"{kind}{j}"


def torch_prefix(layer_name, spec):
    if layer_name == "predictions":
        return "fc"
    if layer_name == "conv1_conv":
        return "conv1"
    if layer_name == "conv1_bn":
        return "bn1"
    stem = re.fullmatch(r"conv1_(\d_(?:conv|bn))", layer_name)
    if stem and stem.group(1) in _DEEP_STEM:
        return f"conv1.{_DEEP_STEM[stem.group(1)]}"
    block = _BLOCK.match(layer_name)
    if block is None:
        return None
    stage, index, part = int(block.group(1)), int(block.group(2)), block.group(3)
    inner = _block_part(part, spec)
    return None if inner is None else f"layer{stage - 1}.{index - 1}.{inner}"


def akamaster_prefix(layer_name, spec):
    """akamaster's CIFAR state dicts use these names too, with the classifier called `linear`."""
    return "linear" if layer_name == "predictions" else torch_prefix(layer_name, spec)


mapping = by_prefix(torch_prefix)
akamaster_mapping = by_prefix(akamaster_prefix, head_keys=("linear.weight", "linear.bias"))
