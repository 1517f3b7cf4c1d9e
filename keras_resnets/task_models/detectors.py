"""torchvision's COCO detectors as Keras models; see SPECS.

    model = kr.create_model("retinanet_resnet50_fpn", input_shape=(800, 800, 3))
    detections = model.predict(images)   # RGB [0, 255]; {"boxes", "scores", "classes", "num_detections"}

Options of `create_model` (torchvision's `RetinaNet` arguments of the same meaning):
`score_threshold` (0.05), `iou_threshold` (0.5, its nms_thresh), `candidates` (1000 per
level, its topk_candidates), `max_detections` (300, its detections_per_img), and
`postprocess=False` for the raw {"box_deltas", "class_logits"} (training, other runtimes).
FCOS (`fcos_resnet50_fpn`) takes the same options with torchvision's FCOS defaults (0.2,
0.6, 1000, 100; `heads.torchvision_fcos.SETTINGS`), and its raw outputs are
{"box_regression", "box_ctrness", "class_logits"}.
Classes are torchvision's 91 COCO category ids (`keras_resnets.labels.LABEL_SETS["coco"]`).
"""

import dataclasses

from keras_resnets import resnet_bd
from keras_resnets.core.builder import build_model
from keras_resnets.core.levels import level_features
from keras_resnets.heads import torchvision_fcos, torchvision_retinanet
from keras_resnets.task_models.spec import TaskModelSpec

RETINANET_PAPER = "Lin et al. 2017, Focal Loss for Dense Object Detection (arXiv:1708.02002)"
ATSS_PAPER = "Zhang et al. 2020, Bridging the Gap Between Anchor-based and Anchor-free Detection (arXiv:1912.02424)"
# RetinaNet's class logits: the class layers a new `num_classes` starts afresh.
CLASS_LAYERS = ("class_output",)


FCOS_PAPER = "Tian et al. 2019, FCOS: Fully Convolutional One-Stage Object Detection (arXiv:1904.01355)"


def _pyramid_backbone(spec, input_shape):
    backbone = build_model(spec.backbone, include_top=False, weights=None, input_shape=input_shape)
    # C3-C5 (stride 8-32), as torchvision's returned_layers [2, 3, 4].
    return level_features(backbone, ("P3", "P4", "P5"))


def make_retinanet(variant):
    def make(spec, input_shape, num_classes, **options):
        backbone = _pyramid_backbone(spec, input_shape)
        return torchvision_retinanet.retinanet_model(backbone, num_classes, variant, name=spec.name, **options)

    return make


def make_fcos(spec, input_shape, num_classes, **options):
    return torchvision_fcos.fcos_model(_pyramid_backbone(spec, input_shape), num_classes, name=spec.name, **options)


SPECS = (
    TaskModelSpec(
        name="retinanet_resnet50_fpn",
        task="detection",
        # torchvision's COCO weights run with FrozenBatchNorm2d of eps 0 (overwrite_eps(model, 0.0)).
        backbone=dataclasses.replace(resnet_bd.ResNet50B.spec, bn_epsilon=0.0),
        make=make_retinanet("v1"),
        recipe=(("box_loss", "l1"),),
        layout="tv_retinanet",
        class_layers=CLASS_LAYERS,
        classes=91,
        default_size=800,
        family="RetinaNet",
        paper=RETINANET_PAPER,
    ),
    TaskModelSpec(
        name="retinanet_resnet50_fpn_v2",
        task="detection",
        backbone=resnet_bd.ResNet50B.spec,  # BatchNorm eps 1e-5, as torchvision's
        make=make_retinanet("v2"),
        recipe=(("box_loss", "giou"),),  # torchvision sets its regression head's loss to GIoU
        layout="tv_retinanet",
        class_layers=CLASS_LAYERS,
        classes=91,
        default_size=800,
        family="RetinaNet",
        paper=ATSS_PAPER,
    ),
    TaskModelSpec(
        name="fcos_resnet50_fpn",
        task="detection",
        backbone=resnet_bd.ResNet50B.spec,  # FrozenBatchNorm2d of eps 1e-5 (no overwrite_eps for FCOS)
        make=make_fcos,
        layout="tv_fcos",  # no `recipe`: fine-tuning FCOS needs its own loss (not written yet)
        class_layers=CLASS_LAYERS,
        classes=91,
        default_size=800,
        family="FCOS",
        paper=FCOS_PAPER,
    ),
)
