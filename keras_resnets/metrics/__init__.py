"""Exact, reusable task metrics on NumPy arrays: segmentation (`mean_iou`, `pixel_accuracy`)
and detection (`coco_map`), each in its own module, resolved on first use."""

import importlib

_API = {
    "mean_iou": "segmentation",
    "pixel_accuracy": "segmentation",
    "confusion_matrix": "segmentation",
    "coco_map": "detection",
}


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f"keras_resnets.metrics.{_API[name]}"), name)
    raise AttributeError(f"module 'keras_resnets.metrics' has no attribute {name!r}")
