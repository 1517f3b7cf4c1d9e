"""Semantic segmentation: a class per pixel, a DeepLabV3+ or FPN decoder on any backbone,
or a pretrained segmenter (torchvision's DeepLabV3/FCN, `--model deeplabv3_resnet50`) fine-tuned.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.segmentation import SegmentationTask

    task = SegmentationTask(data_dir="../shared/data/segmentation-mini", head="fpn")
    metrics = run(task, RunConfig(model="resnet18", weights="none", image_size=96))

The model takes RGB [0, 255] images (N, S, S, 3) and returns per-pixel class
probabilities (N, S, S, classes): Preprocess -> the backbone's feature pyramid
(`keras_resnets.features`, a nested model, dilated to `output_stride`) -> decoder
(`keras_resnets.heads.segmentation.segmenter`) -> float32 softmax. Label 255 is void: the
loss, the metrics and the pictures ignore it.
"""

from pathlib import Path

import keras
from keras import ops

import keras_resnets as kr
from keras_resnets.core.replicas import per_image_share
from keras_resnets.heads import segmentation as heads
from keras_resnets.metrics.segmentation import VOID
from keras_resnets.tasks import EPOCH_PICTURE, Evaluation, data_summary
from keras_resnets.tasks import segmentation_data as data
from keras_resnets.tasks import segmentation_report as report
from keras_resnets.tasks.data import SPLITS, limit
from keras_resnets.tasks.image_task import ImageTask
from keras_resnets.task_models.segmenters import AUX_NAME
from keras_resnets.tasks.options import DEFAULT_OUTPUT_STRIDE, DEFAULT_SEGMENTATION_HEAD, SegmentationOptions
from keras_resnets.training.errors import ConfigError



def void_masked_crossentropy(y_true, y_pred):
    """Mean cross-entropy over the batch's non-void pixels (label 255 counts for nothing)."""
    # Pixels as rows: Keras 3.15's PyTorch backend moves the class axis of a rank-4
    # prediction to axis 1 as a non-contiguous view, whose nll_loss backward then fails
    # ("grad_input must be contiguous"); rank 2 keeps the classes at axis 1 already.
    batch = ops.shape(y_pred)[0]
    y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    valid = ops.not_equal(labels, VOID)
    losses = ops.sparse_categorical_crossentropy(ops.where(valid, labels, 0), y_pred)
    weights = ops.cast(valid, losses.dtype)
    return per_image_share(ops.sum(ops.reshape(losses * weights, (batch, -1)), axis=1), ops.sum(weights))


def void_masked_pixel_accuracy(y_true, y_pred):
    """Per-batch fraction of non-void pixels predicted right (the exact figure is the report's)."""
    labels = ops.cast(y_true, "int32")
    valid = ops.cast(ops.not_equal(labels, VOID), "float32")
    right = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), labels), "float32")
    return ops.sum(right * valid) / ops.maximum(ops.sum(valid), 1.0)


def split_auxiliary(y_pred):
    """(main, auxiliary) probabilities of a training model's output that holds both side by
    side on the class axis (`SegmentationTask.build_training_model`)."""
    classes = y_pred.shape[-1] // 2
    return y_pred[..., :classes], y_pred[..., classes:]


def auxiliary_loss(weight):
    """torchvision's segmentation loss with its auxiliary head: the main cross-entropy plus
    `weight` times the auxiliary one, void pixels ignored in both."""

    def loss(y_true, y_pred):
        main, aux = split_auxiliary(y_pred)
        return void_masked_crossentropy(y_true, main) + weight * void_masked_crossentropy(y_true, aux)

    return loss


def main_pixel_accuracy(y_true, y_pred):
    """`void_masked_pixel_accuracy` of the main head, beside the auxiliary one."""
    return void_masked_pixel_accuracy(y_true, split_auxiliary(y_pred)[0])


def _softmax(logits, name="segmentation"):
    # float32, as the loss, the reports and the export expect.
    return keras.layers.Activation("softmax", dtype="float32", name=name)(logits)


class SegmentationTask(SegmentationOptions, ImageTask):
    """Its options, their defaults and their checks: `options.SegmentationOptions`."""

    identity = ("dataset", "data_dir", "max_images", "skip_bad", "head", "output_stride", "aux_loss")
    curves = (
        ("loss", "loss (void pixels ignored; train: on augmented crops)"),
        ("pixel_accuracy", "pixel accuracy (train: per-batch mean on augmented crops)"),
        ("mean_iou", "mean IoU (validation, exact)"),
    )

    skipped_what = "unusable image/mask pairs"
    agreement = ("top1_agreement", "per-pixel top-1 agreement")
    epoch_picture = EPOCH_PICTURE  # drawn by `report.EpochReport`

    def read_folder(self, config):
        return limit(data.load_folder(self.data_dir, self.skip_bad), self.max_images)

    def read_tfds(self, config):
        return limit(data.load_tfds(self.dataset, self.tfds_dir), self.max_images)

    @property
    def decoder(self):
        return self.head or DEFAULT_SEGMENTATION_HEAD

    def stride(self):
        stride = self.output_stride or DEFAULT_OUTPUT_STRIDE[self.decoder]
        return None if stride == 32 else stride

    def train_batches(self, source, config, seed):
        split = source.splits["train"]
        return data.pipeline(split, config.image_size, config.batch_size, training=True, seed=seed, cache=source.in_memory)

    def _batches(self, source, config, split):
        return data.pipeline(source.splits[split], config.image_size, config.batch_size, cache=source.in_memory)

    def val_batches(self, source, config):
        return self._batches(source, config, "val")

    def build_model(self, config, source, weights):
        size = config.image_size
        if config.model in kr.list_models(task="segmentation"):
            segmenter = self._pretrained_segmenter(config, source, weights)
            return keras.Model(segmenter.inputs, _softmax(segmenter.output), name=segmenter.name)
        network = kr.create_model(
            config.model, weights=weights, include_top=False, input_shape=(size, size, 3),
            output_stride=self.stride(), **config.backbone_options,
        )  # fmt: skip
        backbone = kr.features(network, levels=heads.head_levels(self.decoder, network.pyramid_level_inputs))
        return heads.segmenter(backbone, len(source.class_names), config.preprocessing, config.pretrained, self.decoder)

    def build_training_model(self, config, source, weights):
        """With `aux_loss`: (the model, a model that also gives the auxiliary head's
        probabilities): torchvision's recipe, the auxiliary FCN head on the conv4 stage
        trained beside the main head (`auxiliary_loss`). The second model's output is the two
        heads' probabilities side by side on the class axis, (N, S, S, 2 x classes), so that
        the batches, the metrics' names and the history are those of one output."""
        if not self.aux_loss:
            return super().build_training_model(config, source, weights)
        if config.model not in kr.list_models(task="segmentation"):
            raise ConfigError(
                f"--aux-loss trains a pretrained segmenter's auxiliary head; {config.model} has none. Pick one "
                f"of {', '.join(kr.list_models(task='segmentation'))}, or drop --aux-loss.",
                "aux_loss",
            )
        segmenter = self._pretrained_segmenter(config, source, weights, aux=True)
        main = _softmax(segmenter.output["out"])
        aux = _softmax(segmenter.output[AUX_NAME], f"{AUX_NAME}_segmentation")
        both = keras.layers.Concatenate(dtype="float32", name="segmentation_and_aux")([main, aux])
        inputs, name = segmenter.inputs, segmenter.name
        return keras.Model(inputs, main, name=name), keras.Model(inputs, both, name=name)

    def _pretrained_segmenter(self, config, source, weights, aux=False):
        """A registered segmenter (torchvision's DeepLabV3/FCN) with its backbone and head,
        and a new class layer when the data's classes differ (`task_models.build`), as
        torchvision's fine-tuning tutorial does; its logits, with `aux` as {"out", "aux"}."""
        given = [f"--{name.replace('_', '-')}" for name in ("head", "output_stride") if getattr(self, name) is not None]
        if given:
            raise ConfigError(
                f"{config.model} is a pretrained segmenter with its own head and output stride, so "
                f"{' and '.join(given)} do not apply: drop {'them' if len(given) > 1 else 'it'}, or "
                "pick a backbone model (e.g. resnet50b) to put a DeepLabV3+ or FPN head on.",
                "head" if self.head is not None else "output_stride",
            )
        if config.preprocessing != "torch":
            raise ConfigError(f"{config.model} takes torch preprocessing; got {config.preprocessing!r}.", "preprocessing")
        size = config.image_size
        return kr.create_model(
            config.model, weights=weights, input_shape=(size, size, 3), num_classes=len(source.class_names),
            frozen_backbone_bn=config.pretrained, aux=aux,
        )  # fmt: skip

    def compile_args(self, config):
        if self.aux_loss:
            loss, accuracy = auxiliary_loss(self.aux_loss), main_pixel_accuracy
        else:
            loss, accuracy = void_masked_crossentropy, void_masked_pixel_accuracy
        return {"loss": loss, "metrics": [keras.metrics.MeanMetricWrapper(accuracy, name="pixel_accuracy")]}

    def callbacks(self, model, source, config, run_dir):
        examples = data.take(source.splits["val"], config.image_size, self.pictures)
        return [report.EpochReport(model, self.val_batches(source, config), examples, source.class_names, run_dir)]

    def evaluate(self, model, source, config, run_dir):
        """Every split's exact mIoU, pixel accuracy and loss; per-class IoU on test; pictures of
        train and test images."""
        num_classes = len(source.class_names)
        splits, matrices = {}, {}
        for split in SPLITS:
            matrices[split], loss = report.evaluate_split(model, self._batches(source, config, split), num_classes)
            splits[split] = report.split_metrics(matrices[split], loss, source.splits[split].count)
        classes = report.per_class(matrices["test"], source.class_names)
        # Training images beside test images: how much was learnt, and how much carries over.
        pictures = [f"predictions_{split}.png" for split in ("train", "test")]
        for split, picture in zip(("train", "test"), pictures):
            report.draw_predictions(
                model, data.take(source.splits[split], config.image_size, self.pictures),
                source.class_names, run_dir / picture,
                f"{model.name}: {split} images ({splits[split]['mean_iou']:.1%} {split} mIoU)",
            )  # fmt: skip
        metrics = {
            "data": data_summary(source),
            "splits": splits,
            "per_class_iou_test": classes,
        }
        epochs = sorted(p.name for p in Path(run_dir).glob("predictions_epoch*.png"))
        return Evaluation(metrics, report.format_summary(splits, classes), [*epochs, *pictures])

    def export_examples(self, source, config):
        return data.take(source.splits["test"], config.image_size, config.export_images)
