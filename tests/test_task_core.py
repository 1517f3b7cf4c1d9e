"""The task-neutral core: stages frozen from the builder's record, the export log in the
task's words, and the image-task base on an options dataclass."""

import dataclasses
import re
from types import SimpleNamespace
from typing import ClassVar, Optional

import keras
import pytest

import keras_resnets as kr
from keras_resnets.heads.classifier import classifier
from keras_resnets.tasks.classification import ClassificationTask
from keras_resnets.tasks.data import Source, Split
from keras_resnets.tasks.detection import DetectionTask
from keras_resnets.tasks.image_task import ImageTask
from keras_resnets.training import freezing
from keras_resnets.training.errors import DataError
from keras_resnets.training.loop import describe_check

STAGE_NAME = re.compile(r"^conv(\d+)_")


@pytest.mark.parametrize("name", ["resnet18d", "resnet50v2", "densenet121", "dpn68", "resnet20"])
def test_recorded_stages_are_the_stages_keras_applications_names_say(name):
    """Stem and V1/V2 layouts, dense transitions, dual paths, CIFAR nets; and `features`
    keeps the record."""
    model = kr.create_model(name, weights=None, include_top=False, input_shape=(32, 32, 3))
    levels = sorted(model.pyramid_level_inputs)[:2]
    for backbone in (model, kr.features(model, levels=levels)):
        stages = freezing.layer_stages(backbone)
        named = [(int(STAGE_NAME.match(l.name).group(1)), s) for l, s in zip(backbone.layers, stages)
                 if STAGE_NAME.match(l.name)]  # fmt: skip
        assert named and all(by_name == recorded for by_name, recorded in named)
    assert max(freezing.layer_stages(model)) == len(model.stage_outputs)


def test_a_backbone_loaded_from_a_keras_file_is_refused_with_advice(tmp_path):
    backbone = kr.create_model("resnet20", weights=None, include_top=False, pooling="avg")
    backbone.save(tmp_path / "backbone.keras")
    loaded = keras.saving.load_model(tmp_path / "backbone.keras")
    with pytest.raises(ValueError, match=r"stage_outputs.*\.keras file loses the record"):
        freezing.set_trainable(classifier(loaded, 3, "torch", pretrained=True), "1")


def test_export_log_says_what_the_tasks_agreement_is():
    check = {"max_abs_diff": 2e-6, "images": 8, "top1_agreement": 1.0, "detections_matched": 0.5}
    assert "top-1 agreement 100% on 8 test images" in describe_check(ClassificationTask(), "tflite", check)
    line = describe_check(DetectionTask(), "tflite", check)
    assert "detections found again 50%" in line and "top-1" not in line


@dataclasses.dataclass(frozen=True)
class FolderOptions:
    data_dir: Optional[str] = None
    dataset: Optional[str] = None
    tfds_dir: Optional[str] = None
    cache: str = "auto"

    cached_bytes_per_pixel: ClassVar[int] = 3


@dataclasses.dataclass(frozen=True)
class CountingTask(FolderOptions, ImageTask):
    """An image task whose options come from a keras-free options dataclass."""

    identity = ("data_dir", "dataset")
    skipped_what = "odd files"
    train_batches = val_batches = build_model = compile_args = evaluate = export_examples = None

    def read_folder(self, config):
        return Source(self.data_dir, ["a", "b"], {"train": Split(None, 5)}, "given", [("x.jpg", "odd")])

    def read_tfds(self, config):
        raise AssertionError("data_dir comes first")


def test_image_task_base_works_on_an_options_dataclass(caplog):
    task = CountingTask(data_dir="some/photos", dataset="voc/2007")
    with caplog.at_level("INFO", logger="keras_resnets.tasks"):
        source = task.load_data(SimpleNamespace(image_size=32))
    assert task.train_size(source) == 5 and task.labels(source) == ["a", "b"]
    assert "2 classes (a, b); train 5" in caplog.text and "1 odd files skipped" in caplog.text
    # Five small images fit any machine's memory: kept, and the log says so.
    assert source.in_memory and "Images: kept in memory" in caplog.text
    assert task.data_name() == "photos" and CountingTask(dataset="voc/2007").data_name() == "voc-2007"
    assert task.with_options({"data_dir": "other", "dataset": None}).data_dir == "other"
    with pytest.raises(DataError, match="neither data_dir nor dataset"):
        CountingTask().load_data(SimpleNamespace(image_size=32))
