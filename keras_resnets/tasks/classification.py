"""Image classification: one class per image, a softmax head on a pooled backbone.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.classification import ClassificationTask

    metrics = run(ClassificationTask(data_dir="photos"), RunConfig(model="resnet18", weights="none"))

The model takes RGB [0, 255] images: Preprocess -> backbone -> dropout -> float32 softmax
(`keras_resnets.heads.classifier`). Preprocessing lives inside the model, so it is applied
exactly once whatever feeds the model: the training pipeline, the exported SavedModel/TFLite
files, or `apps/predict.py`.
"""


import keras
import numpy as np

import keras_resnets as kr
from keras_resnets.heads.classifier import classifier
from keras_resnets.tasks import Evaluation, data_summary
from keras_resnets.tasks import classification_data as data
from keras_resnets.tasks import classification_report as report
from keras_resnets.tasks.data import SPLITS, limit
from keras_resnets.tasks.image_task import ImageTask
from keras_resnets.tasks.options import ClassificationOptions


class ClassificationTask(ClassificationOptions, ImageTask):
    """Its options, their defaults and their checks: `options.ClassificationOptions`."""

    identity = ("dataset", "data_dir", "max_images", "dropout", "label_smoothing", "augment")
    curves = (
        ("loss", "loss (train: with label smoothing and augmentation)"),
        ("accuracy", "accuracy (train: on augmented batches)"),
    )

    skipped_what = "unreadable files"

    def read_folder(self, config):
        return limit(data.load_folder(self.data_dir), self.max_images)

    def read_tfds(self, config):
        return limit(data.load_tfds(self.dataset, self.tfds_dir), self.max_images)

    def train_batches(self, source, config, seed):
        return data.pipeline(
            source.splits["train"],
            len(source.class_names),
            config.image_size,
            config.batch_size,
            training=True,
            seed=seed,
            augment=self.augment,
            cache=source.in_memory,
        )

    def _batches(self, source, config, split):
        return data.pipeline(
            source.splits[split],
            len(source.class_names),
            config.image_size,
            config.batch_size,
            cache=source.in_memory,
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
            **config.backbone_options,
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
        predictions = {s: report.predict(model, self._batches(source, config, s)) for s in SPLITS}
        splits = {s: report.split_metrics(*predictions[s]) for s in SPLITS}
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
