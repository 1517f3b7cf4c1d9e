"""The spec of a whole task model (a detector or a segmenter on a registered backbone).

Classification backbones are `keras_resnets.core.specs.Spec` rows fed to the one backbone
builder; a task model is a backbone plus a head, so its spec names the backbone, the head's
maker and the checkpoint layout of the published whole-model weights. It answers the same
questions the weights code asks of any spec (`registry_name`, `is_registered`,
`preprocessing`, `default_size`), so selecting, fetching, converting and caching its
weights go through the one path of `keras_resnets.weights`.
"""

import dataclasses
from typing import Callable, Tuple

TASKS = ("classification", "detection", "segmentation")


@dataclasses.dataclass(frozen=True)
class TaskModelSpec:
    name: str  # registry name: torchvision's builder name, e.g. "retinanet_resnet50_fpn"
    task: str  # "detection" or "segmentation"
    # The backbone's `Spec` (e.g. `resnet_bd.ResNet50B.spec`), taken from its family module,
    # not looked up by name: the registry sits above this package.
    backbone: object
    # make(spec, input_shape, num_classes, **options) -> keras.Model with random weights.
    make: Callable
    # Checkpoint layout of the published weights (`keras_resnets.convert.LAYOUTS`).
    layout: str
    # Layers that start afresh when `num_classes` differs from the weights' classes (the
    # class logits, as torchvision's fine-tuning tutorial replaces them); all others load.
    class_layers: Tuple[str, ...]
    classes: int  # classes of the published weights (91 COCO ids; 21 VOC classes)
    default_size: int
    preprocessing: str = "torch"
    family: str = ""
    paper: str = ""
    # How the published weights were trained, for fine-tuning them the same way, as sorted
    # (name, value) pairs: e.g. (("box_loss", "giou"),) for torchvision's RetinaNet v2.
    recipe: Tuple[Tuple[str, object], ...] = ()
    # The `make` options that `model_info` counts with: the published file's structure
    # (the segmenters' auxiliary head), as (name, value) pairs.
    counted_options: Tuple[Tuple[str, object], ...] = ()
    # The `make` options of this model, as sorted (name, value) pairs (`build` sets them):
    # a conversion cached for one structure (e.g. with the auxiliary head) is never
    # loaded into another.
    options: Tuple[Tuple[str, object], ...] = ()

    @property
    def registry_name(self):
        return self.name

    @property
    def is_registered(self):
        # The weights rows fit whatever the options; the cache name tells them apart.
        return not self.options

    def architecture_digest(self):
        return "-".join(f"{k}_{v}" for k, v in self.options) or self.name
