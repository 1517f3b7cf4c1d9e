"""The options of each task, as frozen dataclasses that import neither Keras nor TensorFlow.

Each task class (`classification.ClassificationTask`, ...) subclasses its options here, so
a command line builds and checks them, and reads their defaults for its flags, before
TensorFlow loads. Values are checked when the options are made; beside its fields each
class names its `default_model` and its `input_side` rule (`training.options.InputSide`),
the one place that says which input sizes the task takes and which it picks by default.
The names users choose from (augmentations, formats, heads) live here too; the modules that
act on them import them from here.
"""

import dataclasses
from typing import ClassVar, Optional

from keras_resnets.training.options import CACHE_MODES, InputSide, check_bounds

CLASSIFICATION_AUGMENTATIONS = ("randaugment", "mixup", "cutmix")
DETECTION_FORMATS = ("coco", "yolo")
DETECTION_AUGMENTATIONS = ("crop", "flip", "none")
DETECTION_TFDS_SETS = ("voc/2007", "coco/2017")
# `heads.segmentation.HEADS` and `segmentation_data.TFDS_SETS` map these names to code and
# to dataset layouts there (a test keeps the names equal).
SEGMENTATION_HEADS = ("deeplabv3plus", "fpn")
SEGMENTATION_TFDS_SETS = ("oxford_iiit_pet",)
OUTPUT_STRIDES = (8, 16, 32)
# DeepLab's ASPP wants a stride-16 map (the paper's speed/accuracy choice); the FPN
# decoder merges every level, so it keeps the undilated, cheaper stride-32 backbone.
DEFAULT_OUTPUT_STRIDE = {"deeplabv3plus": 16, "fpn": 32}
DEFAULT_SEGMENTATION_HEAD = "deeplabv3plus"
RETINANET_STRIDE = 32  # `heads.retinanet.SIZE_MULTIPLE` (a test keeps them equal)


@dataclasses.dataclass(frozen=True)
class ImageDataOptions:
    """Where a task's images come from: data_dir (a local folder) or dataset (a
    tensorflow-datasets name, stored in tfds_dir, or tfds' own folder when None);
    max_images: at most this many per split (None: all); cache: "memory" keeps decoded
    images in memory after the first epoch, "stream" decodes them again every epoch (flat
    memory), "auto" caches when they fit half the available memory (`image_cache`)."""

    data_dir: Optional[str] = None
    dataset: Optional[str] = None
    tfds_dir: Optional[str] = None
    max_images: Optional[int] = None
    cache: str = "auto"

    default_model: ClassVar[str] = "resnet50v2"
    input_side: ClassVar[InputSide] = InputSide()
    # What a cached image keeps per pixel (RGB; segmentation adds its mask).
    cached_bytes_per_pixel: ClassVar[int] = 3

    def __post_init__(self):
        check_bounds(self, {"max_images": 1}, {"cache": CACHE_MODES})


@dataclasses.dataclass(frozen=True)
class ClassificationOptions(ImageDataOptions):
    """data_dir: a `<class>/<image>` folder (optional `splits.csv`), or dataset: a
    tensorflow-datasets name ("flowers" = tf_flowers); see `classification_data`.
    augment: extra keras-cv augmentation (one of `CLASSIFICATION_AUGMENTATIONS`) on top of
    random resized crop and flip.
    """

    dropout: float = 0.2
    label_smoothing: float = 0.1
    augment: Optional[str] = None

    def __post_init__(self):
        super().__post_init__()
        check_bounds(
            self, {"dropout": 0, "label_smoothing": 0}, {"augment": CLASSIFICATION_AUGMENTATIONS},
            below={"dropout": 1, "label_smoothing": 1},
        )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class DetectionOptions(ImageDataOptions):
    """data_dir: a COCO or YOLO folder (`data_format`: "coco", "yolo", or None to detect it),
    or dataset: a tensorflow-datasets detection set (`DETECTION_TFDS_SETS`); see
    `detection_data`. skip_bad: leave out unusable boxes and images (listed) instead of
    stopping. augment: "crop" (random crop and flip), "flip" or "none". max_boxes: boxes
    per training image (the largest count in COCO is below 100). head_filters and
    head_depth: width and depth of the FPN and of the class and box towers (the paper's
    256 and 4). box_weight: weight of the box loss beside the focal loss. pictures:
    validation images drawn after every epoch.
    """

    data_format: Optional[str] = None
    skip_bad: bool = False
    augment: str = "crop"
    max_boxes: int = 100
    head_filters: int = 256
    head_depth: int = 4
    box_weight: float = 1.0
    pictures: int = 4

    default_model: ClassVar[str] = "resnet50"
    # 512 px: small objects need the pixels whatever resolution the backbone's weights had.
    input_side: ClassVar[InputSide] = InputSide(
        multiple=RETINANET_STRIDE, why="RetinaNet (the stride of its P5 level)", default=512
    )

    def __post_init__(self):
        super().__post_init__()
        check_bounds(
            self, {"max_boxes": 1, "head_filters": 1, "head_depth": 1, "box_weight": 0, "pictures": 1},
            {"data_format": DETECTION_FORMATS, "augment": DETECTION_AUGMENTATIONS},
        )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SegmentationOptions(ImageDataOptions):
    """data_dir: a folder with images/, masks/ and classes.txt, or dataset: a
    tensorflow-datasets segmentation set (`SEGMENTATION_TFDS_SETS`); see
    `segmentation_data`. head: "deeplabv3plus" or "fpn" (None: "deeplabv3plus").
    output_stride: 8, 16 or 32 (no dilation); None: the head's default
    (`DEFAULT_OUTPUT_STRIDE`). Both are for a backbone model; a pretrained segmenter
    (`list_models(task="segmentation")`) brings its own head and stride, so it takes
    neither. aux_loss: for a pretrained segmenter, the weight of its auxiliary FCN head's
    loss beside the main one while training (0: off; torchvision's reference recipe trains
    with 0.5); the evaluation and the export have no auxiliary head. skip_bad: leave out
    unusable image/mask pairs (listed) instead of stopping. pictures: validation images
    drawn after every epoch.
    """

    skip_bad: bool = False
    head: Optional[str] = None
    output_stride: Optional[int] = None
    aux_loss: float = 0.0
    pictures: int = 4

    default_model: ClassVar[str] = "resnet18"
    cached_bytes_per_pixel: ClassVar[int] = 4

    def __post_init__(self):
        super().__post_init__()
        check_bounds(
            self, {"pictures": 1, "aux_loss": 0}, {"head": SEGMENTATION_HEADS, "output_stride": OUTPUT_STRIDES}
        )

