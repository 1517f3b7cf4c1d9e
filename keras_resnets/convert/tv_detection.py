"""torchvision detection state-dict names (RetinaNet v1/v2, FCOS) for our task-model layers.

    backbone.body.<ResNet name>                    the backbone (`convert.resnet.torch_prefix`)
    backbone.fpn.inner_blocks.{i}.0                fpn_lateral_P{3+i}
    backbone.fpn.layer_blocks.{i}.0                fpn_P{3+i}
    backbone.fpn.extra_blocks.p6 / .p7             fpn_P6 / fpn_P7
    head.classification_head.conv.{i}.0 / .1       class_conv{i+1} / class_norm{i+1} (v2's GroupNorm)
    head.classification_head.cls_logits            class_output
    head.regression_head.conv.{i}.0 / .1           box_conv{i+1} / box_norm{i+1}
    head.regression_head.bbox_reg                  box_output

FCOS (layout `tv_fcos`) shares the backbone and pyramid names; its towers are flat
Sequentials, `head.*_head.conv.{3i}` / `.{3i+1}` for conv / GroupNorm i+1, and its box head
adds `head.regression_head.bbox_ctrness` (box_ctrness_output).

The anchors are computed from the input size, not stored, so the checkpoint has none.
"""

import re

from keras_resnets.convert.checkpoint import by_prefix
from keras_resnets.convert.resnet import torch_prefix as resnet_prefix

_FPN = {"fpn_P6": "backbone.fpn.extra_blocks.p6", "fpn_P7": "backbone.fpn.extra_blocks.p7"}
_FPN.update({f"fpn_lateral_P{3 + i}": f"backbone.fpn.inner_blocks.{i}.0" for i in range(3)})
_FPN.update({f"fpn_P{3 + i}": f"backbone.fpn.layer_blocks.{i}.0" for i in range(3)})
_HEADS = {"class": "head.classification_head", "box": "head.regression_head"}
_OUTPUTS = {"class_output": "head.classification_head.cls_logits", "box_output": "head.regression_head.bbox_reg"}
_TOWER = re.compile(r"(class|box)_(conv|norm)(\d+)$")


def head_prefixes(outputs, tower_module):
    """A `torch_prefix(layer_name, spec)` for torchvision's detection heads: `outputs` names
    the output convs, `tower_module(index, is_norm)` the tower's conv or norm `index` (from 1)
    inside `head.*_head.conv`; the pyramid and the backbone are named as in every detector."""

    def prefix(layer_name, spec):
        if layer_name in _FPN:
            return _FPN[layer_name]
        if layer_name in outputs:
            return outputs[layer_name]
        tower = _TOWER.fullmatch(layer_name)
        if tower:
            head, kind, index = tower.groups()
            return f"{_HEADS[head]}.conv.{tower_module(int(index), kind == 'norm')}"
        inner = resnet_prefix(layer_name, spec.backbone)
        return None if inner is None else f"backbone.body.{inner}"

    return prefix


# RetinaNet's towers hold Conv2dNormActivation modules (v2: conv, GroupNorm); FCOS's are flat
# Sequentials (conv, GroupNorm, ReLU, ...) and its box head has a second output.
retinanet_prefix = head_prefixes(_OUTPUTS, lambda index, is_norm: f"{index - 1}.{int(is_norm)}")
fcos_prefix = head_prefixes(
    {**_OUTPUTS, "box_ctrness_output": "head.regression_head.bbox_ctrness"},
    lambda index, is_norm: f"{3 * (index - 1) + int(is_norm)}",
)
retinanet_mapping = by_prefix(retinanet_prefix, head_keys=())
fcos_mapping = by_prefix(fcos_prefix, head_keys=())
