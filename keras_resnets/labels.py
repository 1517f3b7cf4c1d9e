"""Label names of the task models' outputs, shipped with the package (nothing downloads).

    LABEL_SETS["coco"][class_id]   torchvision's 91 COCO category ids (0 background,
                                   "N/A" for the 11 ids COCO left unused)
    LABEL_SETS["voc"][class_id]    the 21 PASCAL VOC classes of torchvision's COCO-VOC
                                   segmenters (0 background)

A weights row names its set (`WeightsEntry.labels`); `keras_resnets.model_info` lists them.
"""

# fmt: off
COCO_CATEGORIES = (
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter",
    "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A", "handbag", "tie", "suitcase",
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A",
    "dining table", "N/A", "N/A", "toilet", "N/A", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "N/A",
    "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)
VOC_CLASSES = (
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)
# fmt: on

LABEL_SETS = {"coco": COCO_CATEGORIES, "voc": VOC_CLASSES}


def names(label_set):
    if label_set not in LABEL_SETS:
        raise ValueError(f"Unknown label set {label_set!r}; known: {sorted(LABEL_SETS)}.")
    return LABEL_SETS[label_set]
