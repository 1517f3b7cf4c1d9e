"""The fine-tuning app's reusable parts (`apps/finetune.py`, `apps/predict.py`).

data: local folders, `splits.csv` and tensorflow-datasets as `tf.data` pipelines.
model: backbone from the registry + preprocessing layer + float32 classifier head.
recipe: the two-phase fine-tuning recipe (optimizers, schedules, freezing).
checkpoints: per-epoch checkpoints that survive SIGKILL, and resuming.
report: evaluation, per-class metrics, plots and `metrics.json`.
export: `.keras`, SavedModel, TFLite and `labels.txt`, each verified.

TensorFlow must be installed (tf.data runs the input pipeline under every backend).
"""
