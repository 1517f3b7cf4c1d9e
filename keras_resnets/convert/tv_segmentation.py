"""torchvision's segmentation state-dict names (DeepLabV3, FCN) for our task-model layers.

    backbone.<ResNet name>              the dilated ResNet (`convert.resnet.torch_prefix`)
    classifier.0.convs.0.{0,1}          DeepLab ASPP 1x1 branch      deeplab_aspp_1x1_{conv,bn}
    classifier.0.convs.{1,2,3}.{0,1}    ASPP rates 12, 24, 36        deeplab_aspp_rate{r}_{conv,bn}
    classifier.0.convs.4.{1,2}          ASPP image pooling           deeplab_aspp_pool_{conv,bn}
    classifier.0.project.{0,1}          ASPP projection              deeplab_aspp_project_{conv,bn}
    classifier.{1,2}, classifier.4      DeepLab 3x3 conv, BN; logits deeplab_head_{conv,bn}, deeplab_logits
    classifier.{0,1}, classifier.4      FCN 3x3 conv, BN; logits     fcn_head_{conv,bn}, fcn_logits
    aux_classifier.{0,1}, .4            the auxiliary FCN head       aux_head_{conv,bn}, aux_logits

A model built without its auxiliary head leaves the `aux_classifier` tensors unused.
"""

import re

from keras_resnets.convert.checkpoint import by_prefix, flat_layers
from keras_resnets.convert.resnet import torch_prefix as resnet_prefix

AUX_PREFIX = "aux_classifier."
_ASPP_BRANCHES = {"1x1": "convs.0.", "rate12": "convs.1.", "rate24": "convs.2.", "rate36": "convs.3."}
_ASPP = re.compile(r"deeplab_aspp_(\w+?)_(conv|bn)$")
_FCN_LIKE = re.compile(r"(fcn|aux)_head_(conv|bn)$")
_LOGITS = {"deeplab_logits": "classifier.4", "fcn_logits": "classifier.4", "aux_logits": "aux_classifier.4"}
_FIXED = {"deeplab_head_conv": "classifier.1", "deeplab_head_bn": "classifier.2"}


def torch_prefix(layer_name, spec):
    if layer_name in _LOGITS:
        return _LOGITS[layer_name]
    if layer_name in _FIXED:
        return _FIXED[layer_name]
    fcn = _FCN_LIKE.match(layer_name)
    if fcn:
        module = "classifier" if fcn.group(1) == "fcn" else "aux_classifier"
        return f"{module}.{0 if fcn.group(2) == 'conv' else 1}"
    branch = _ASPP.match(layer_name)
    if branch:
        part, kind = branch.groups()
        index = {"conv": 0, "bn": 1}[kind]
        if part in _ASPP_BRANCHES:
            return f"classifier.0.{_ASPP_BRANCHES[part]}{index}"
        if part == "pool":  # index 0 of torchvision's ASPPPooling is the pooling itself
            return f"classifier.0.convs.4.{index + 1}"
        if part == "project":
            return f"classifier.0.project.{index}"
        return None
    inner = resnet_prefix(layer_name, spec.backbone)
    return None if inner is None else f"backbone.{inner}"


def mapping(tensors, model, spec):
    names = {layer.name for layer in flat_layers(model)}
    if "aux_logits" not in names:
        tensors.discard([key for key in tensors.state if key.startswith(AUX_PREFIX)])
    return _by_name(tensors, model, spec)


_by_name = by_prefix(torch_prefix, head_keys=())
