"""Image classification: one class per image, a softmax head on a pooled backbone.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.classification import ClassificationTask

    metrics = run(ClassificationTask(data_dir="photos"), RunConfig(model="resnet18", weights="none"))

The model takes RGB [0, 255] images: Preprocess -> backbone -> dropout -> float32 softmax.
Preprocessing lives inside the model, so it is applied exactly once whatever feeds the
model: the training pipeline, the exported SavedModel/TFLite files, or `apps/predict.py`.
"""

import logging
from pathlib import Path

import keras
import numpy as np

import keras_resnets as kr
from keras_resnets.imagenet import Preprocess
from keras_resnets.tasks import Evaluation, Task, data_summary
from keras_resnets.tasks import classification_data as data
from keras_resnets.tasks import classification_report as report
from keras_resnets.tasks.options import ClassificationOptions
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)


def classifier(backbone, num_classes, preprocessing, pretrained, dropout=0.2):
    """Input (RGB [0, 255]) -> Preprocess -> `backbone` (pooled features) -> dropout -> softmax.

    A pretrained backbone is called with `training=False`, so its BatchNorm layers stay
    in inference mode even once unfrozen (keras.io's fine-tuning advice: updating the
    statistics on a small new dataset wrecks what was learnt). From scratch, BatchNorm
    trains as usual.
    """
    inputs = keras.Input(backbone.input_shape[1:], name="image")
    x = Preprocess(preprocessing, name="preprocess")(inputs)
    x = backbone(x, training=False) if pretrained else backbone(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    # float32 head: softmax and the loss need it under mixed precision.
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=f"{backbone.name}_classifier")


class ClassificationTask(ClassificationOptions, Task):
    """Its options, their defaults and their checks: `options.ClassificationOptions`."""

    identity = ("dataset", "data_dir", "max_images", "dropout", "label_smoothing", "augment")
    curves = (
        ("loss", "loss (train: with label smoothing and augmentation)"),
        ("accuracy", "accuracy (train: on augmented batches)"),
    )

    def data_name(self):
        return Path(self.data_dir).resolve().name if self.data_dir else self.dataset

    def load_data(self, config):
        if self.data_dir:
            source = data.load_folder(self.data_dir)
        elif self.dataset:
            source = data.load_tfds(self.dataset, self.tfds_dir)
        else:
            raise DataError("No data: neither data_dir nor dataset is set.", "data_dir")
        if self.max_images:
            data.limit(source, self.max_images)
        log.info("Data %s", source.describe())
        if source.skipped:
            log.warning("%d unreadable files skipped (listed above).", len(source.skipped))
        return source

    def train_size(self, source):
        return source.splits["train"].count

    def train_batches(self, source, config, seed):
        return data.pipeline(
            source.splits["train"],
            len(source.class_names),
            config.image_size,
            config.batch_size,
            training=True,
            seed=seed,
            augment=self.augment,
            cache=self.cache,
        )

    def _batches(self, source, config, split):
        return data.pipeline(
            source.splits[split],
            len(source.class_names),
            config.image_size,
            config.batch_size,
            cache=self.cache,
        )

    def val_batches(self, source, config):
        return self._batches(source, config, "val")

    def build_model(self, config, source, weights):
        backbone = kr.create_model(
            config.model,
            weights=weights,
            include_top=False,
            pooling="avg",
            input_shape=(config.image_size, config.image_size, 3),
        )
        return classifier(
            backbone, len(source.class_names), config.preprocessing, config.pretrained, self.dropout
        )

    def compile_args(self, config):
        return {
            "loss": keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing),
            "metrics": [keras.metrics.CategoricalAccuracy(name="accuracy")],
        }

    def evaluate(self, model, source, config, run_dir):
        """Every split's accuracy and loss; per-class metrics and confusion matrix on test."""
        predictions = {s: report.predict(model, self._batches(source, config, s)) for s in data.SPLITS}
        splits = {s: report.split_metrics(*predictions[s]) for s in data.SPLITS}
        labels, probs = predictions["test"]
        matrix = report.confusion_matrix(labels, np.argmax(probs, axis=-1), len(source.class_names))
        classes = report.per_class(matrix, source.class_names)
        report.plot_confusion(
            matrix, source.class_names, run_dir / "confusion_matrix.png",
            f"{config.model} test set ({splits['test']['accuracy']:.1%} accuracy)",
        )  # fmt: skip
        metrics = {
            "data": data_summary(source),
            "splits": splits,
            "per_class_test": classes,
            "confusion_matrix_test": matrix.tolist(),
        }
        summary = report.format_summary(splits, classes, matrix, source.class_names)
        return Evaluation(metrics, summary, ["confusion_matrix.png"])

    def export_examples(self, source, config):
        return data.take_images(source.splits["test"], config.image_size, config.export_images)

    def labels(self, source):
        return source.class_names
