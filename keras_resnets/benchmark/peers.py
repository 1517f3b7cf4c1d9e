"""Who else implements each architecture, under which name.

`PEERS[our model][implementation] = their name`. keras.applications runs on the Keras
backend being measured; timm and torchvision run in plain PyTorch, eagerly and under
`torch.compile`. Peers must be the same network: our `resnet50` is keras.applications'
(stride in the 1x1), while timm's and torchvision's `resnet50` is ResNet-B, our `resnet50b`.
"""

# "ours_folded": ours for inference with every BatchNorm folded into its convolution
# (`keras_resnets.fold_batchnorm`), as apps/predict.py runs a Keras model.
OURS = ("ours", "ours_folded")
KERAS_IMPLEMENTATIONS = (*OURS, "keras")
TORCH_IMPLEMENTATIONS = ("timm", "timm_compile", "torchvision", "torchvision_compile")
IMPLEMENTATIONS = KERAS_IMPLEMENTATIONS + TORCH_IMPLEMENTATIONS

# fmt: off
PEERS = {
    "resnet18": {"timm": "resnet18", "torchvision": "resnet18"},
    "resnet50": {"keras": "ResNet50"},
    "resnet50b": {"timm": "resnet50", "torchvision": "resnet50"},
    "resnet50v2": {"keras": "ResNet50V2"},
    "densenet121": {"keras": "DenseNet121", "timm": "densenet121", "torchvision": "densenet121"},
    # Task models (inference only): the whole detector, post-processing (NMS) included on
    # both sides, and the segmenter's upsampled logits.
    "retinanet_resnet50_fpn": {"torchvision": "retinanet_resnet50_fpn"},
    "retinanet_resnet50_fpn_v2": {"torchvision": "retinanet_resnet50_fpn_v2"},
    "deeplabv3_resnet50": {"torchvision": "deeplabv3_resnet50"},
    "fcn_resnet50": {"torchvision": "fcn_resnet50"},
}
# torchvision's detectors resize every image to their `min_size`/`max_size` (800/1333) first;
# set both to the measured size, so that both sides run the same input.
TORCHVISION_DETECTORS = ("retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2")
# Its task models default to ImageNet backbone weights (a download); random weights time the same.
TORCHVISION_TASK_MODELS = (*TORCHVISION_DETECTORS, "deeplabv3_resnet50", "fcn_resnet50")
# fmt: on


def peer_name(model, implementation):
    """Their name of our `model`, or None when `implementation` has no such network."""
    if implementation in OURS:
        return model
    return PEERS.get(model, {}).get(implementation.removesuffix("_compile"))


def is_torch(implementation):
    return implementation in TORCH_IMPLEMENTATIONS


def where(row):
    """Where a configuration (a row or `Config` fields) runs: "pytorch" for plain-PyTorch
    peers, else its Keras backend, marked when compiled with `jit_compile=True`."""
    if is_torch(row["implementation"]):
        return "pytorch"
    return row["backend"] + (" jit_compile" if row.get("jit_compile") else "")
