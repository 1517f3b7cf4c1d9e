"""Pretrained task models: torchvision's COCO detectors and COCO-VOC segmenters in Keras.

    model = kr.create_model("deeplabv3_resnet50", weights="tv_coco_voc", input_shape=(520, 520, 3))
    kr.list_models(task="detection")

`SPECS` is the literal table of the families' rows (`detectors.SPECS`, `segmenters.SPECS`);
the registry answers their names beside the classification backbones. Weights rows live in
the one weights table, checkpoint layouts in `keras_resnets.convert`.
"""

from keras_resnets.task_models import detectors, segmenters
from keras_resnets.task_models.build import build
from keras_resnets.task_models.spec import TASKS, TaskModelSpec

SPECS = {spec.name: spec for spec in (*detectors.SPECS, *segmenters.SPECS)}

__all__ = ["SPECS", "TASKS", "TaskModelSpec", "build"]
