"""Object detection: RetinaNet (FPN P3-P7, focal loss, anchors) on any backbone.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.detection import DetectionTask

    task = DetectionTask(data_dir="../shared/data/detection-mini")
    metrics = run(task, RunConfig(model="resnet18", weights="none", image_size=256))

The model takes RGB [0, 255] images (N, S, S, 3) and returns, for each of its A anchors,
4 box deltas and one logit per class (N, A, 4 + classes): Preprocess -> the backbone's
feature pyramid P3-P5 (`keras_resnets.features`, a nested model) -> RetinaNet
(`keras_resnets.heads.retinanet`). Evaluation, the per-epoch pictures and the export put
the decoding and the final detections on top (`retinanet.with_decoding`: per-class NMS in
the graph, `keras_resnets.heads.nms`), so every exported file returns detections.

`--model` may also be a registered detector (`kr.list_models(task="detection")`,
torchvision's COCO RetinaNets): it is fine-tuned whole, with a new class head for the data's
classes, on torchvision's own loss (`heads.torchvision_retinanet_loss`) and post-processing.
"""

import json
from pathlib import Path

import keras

import keras_resnets as kr
from keras_resnets.heads import retinanet, torchvision_retinanet
from keras_resnets.heads.torchvision_retinanet_loss import TorchvisionRetinaNetLoss
from keras_resnets.metrics import coco_map
from keras_resnets.tasks import CATEGORIES_FILE, EPOCH_PICTURE, Evaluation, data_summary
from keras_resnets.tasks import detection_data as data
from keras_resnets.tasks import detection_report as report
from keras_resnets.tasks.data import SPLITS
from keras_resnets.tasks.image_task import ImageTask
from keras_resnets.tasks.options import DetectionOptions
from keras_resnets.training.errors import ConfigError


class DetectionTask(DetectionOptions, ImageTask):
    """Its options, their defaults and their checks (the input side included):
    `options.DetectionOptions`."""

    identity = (
        "dataset", "data_dir", "data_format", "max_images", "skip_bad", "augment", "max_boxes",
        "head_filters", "head_depth", "box_weight",
    )  # fmt: skip
    curves = (
        ("loss", "loss: focal + box smooth L1 (train: on augmented images)"),
        ("map50", "mAP@.5 (validation, exact COCO definition)"),
        ("map", "mAP@[.5:.95] (validation, exact COCO definition)"),
    )

    skipped_what = "unusable annotations or images"
    agreement = ("detections_matched", "detections found again")
    epoch_picture = EPOCH_PICTURE  # drawn by `report.EpochReport`

    # Both cut each split to max_images themselves, so that its ground truth matches.
    def read_folder(self, config):
        return data.load_folder(self.data_dir, self.data_format, self.skip_bad, self.max_images)

    def read_tfds(self, config):
        return data.load_tfds(self.dataset, self.tfds_dir, self.max_images)

    def train_batches(self, source, config, seed):
        return data.pipeline(
            source.splits["train"], config.image_size, config.batch_size, self.max_boxes, training=True,
            seed=seed, augment=self.augment, cache=source.in_memory,
        )  # fmt: skip

    def val_batches(self, source, config):
        split = source.splits["val"]
        return data.pipeline(split, config.image_size, config.batch_size, self.max_boxes, cache=source.in_memory)

    def _evaluation_batches(self, source, config, split):
        return data.evaluation_batches(source.splits[split], config.image_size, config.batch_size, source.in_memory)

    @staticmethod
    def pretrained_detector(config):
        """Whether `config.model` is a registered detector (torchvision's COCO RetinaNets),
        rather than a backbone to put our RetinaNet on."""
        return config.model in kr.list_models(task="detection")

    def build_model(self, config, source, weights):
        size = config.image_size
        if self.pretrained_detector(config):
            return self._pretrained_detector(config, source, weights)
        network = kr.create_model(
            config.model, weights=weights, include_top=False, input_shape=(size, size, 3), **config.backbone_options
        )  # fmt: skip
        missing = [level for level in retinanet.BACKBONE_LEVELS if level not in network.pyramid_level_inputs]
        if missing:
            raise ConfigError(
                f"{config.model} has no {'/'.join(missing)} feature maps (its levels: "
                f"{', '.join(sorted(network.pyramid_level_inputs))}); the RetinaNet needs strides 8 to 32 "
                "(P3-P5): pick an ImageNet-style backbone such as resnet18 or resnet50.",
                "model",
            )
        backbone = kr.features(network, levels=retinanet.BACKBONE_LEVELS)
        return retinanet.retinanet(
            backbone, len(source.class_names), config.preprocessing, config.pretrained, self.head_filters,
            self.head_depth,
        )  # fmt: skip

    def _pretrained_detector(self, config, source, weights):
        """A registered detector with its backbone, pyramid and box head, and a new class head
        when the data's classes differ (`task_models.build`), as torchvision's fine-tuning
        tutorial does; trained on its raw outputs, concatenated as our RetinaNet's are
        (N, A, 4 + classes), with the loss its weights were trained with (`compile_args`).
        Its backbone's BatchNorm stays frozen, as torchvision keeps it."""
        changed = [
            f"--{name.replace('_', '-')}" for name in ("head_filters", "head_depth", "box_weight")
            if getattr(self, name) != getattr(DetectionOptions, name)
        ]  # fmt: skip
        if not kr.get_spec(config.model).recipe:
            raise ConfigError(
                f"Fine-tuning {config.model} needs its own training loss, which keras_resnets does not have "
                "yet: pick retinanet_resnet50_fpn or retinanet_resnet50_fpn_v2, or use it for prediction "
                "(apps/predict.py) as it is.",
                "model",
            )
        if changed:
            raise ConfigError(
                f"{config.model} is a pretrained detector with torchvision's head and loss, so "
                f"{' and '.join(changed)} do not apply: drop them, or pick a backbone model (e.g. "
                "resnet50b) to put our RetinaNet on.",
                changed[0][2:].replace("-", "_"),
            )
        size = config.image_size
        raw = kr.create_model(
            config.model, weights=weights, input_shape=(size, size, 3), num_classes=len(source.class_names),
            postprocess=False,
        )  # fmt: skip
        outputs = [raw.output["box_deltas"], raw.output["class_logits"]]
        predictions = keras.layers.Concatenate(axis=-1, dtype="float32", name="predictions")(outputs)
        return keras.Model(raw.input, predictions, name=raw.name)

    def compile_args(self, config):
        if self.pretrained_detector(config):
            size = config.image_size
            box_loss = dict(kr.get_spec(config.model).recipe)["box_loss"]
            return {"loss": TorchvisionRetinaNetLoss(torchvision_retinanet.anchors(size, size), box_loss=box_loss)}
        return {"loss": retinanet.RetinaNetLoss(config.image_size, self.box_weight)}

    def detector(self, model, config):
        """`model` (what `build_model` made) ending with its detections, sharing its layers:
        what is evaluated, drawn and exported."""
        if self.pretrained_detector(config):
            return torchvision_retinanet.with_postprocess(model)
        return retinanet.with_decoding(model)

    def callbacks(self, model, source, config, run_dir):
        examples = data.take(source.splits["val"], config.image_size, self.pictures)
        return [
            report.EpochReport(
                self.detector(model, config), source.splits["val"], self._evaluation_batches(source, config, "val"), examples, config,
                source.splits["val"].ground_truth["categories"], source.class_names, run_dir,
            )
        ]  # fmt: skip

    def evaluate(self, model, source, config, run_dir):
        """Every split's exact COCO mAP; per-class AP on test; pictures of train and test images."""
        decoder = self.detector(model, config)
        categories = source.splits["test"].ground_truth["categories"]
        splits, results = {}, {}
        for split in SPLITS:
            batches = self._evaluation_batches(source, config, split)
            detections = report.detect(decoder, batches, config.image_size, categories)
            results[split] = coco_map(source.splits[split].ground_truth, detections)
            splits[split] = report.split_metrics(results[split], source.splits[split].count)
        for split in ("train", "test"):  # how well it fits what it saw, and what it did not
            examples = data.take(source.splits[split], config.image_size, self.pictures)
            outputs = decoder.predict_on_batch(examples[0])
            detections = report.to_coco(outputs, *examples[1:], config.image_size, categories)
            report.plot_detections(
                examples, detections, source.splits[split].ground_truth, source.class_names,
                run_dir / f"predictions_{split}.png",
                f"{model.name}: {split} images ({split} mAP@.5 {splits[split]['map50'] or 0:.1%})",
            )  # fmt: skip
        metrics = {
            "data": data_summary(source),
            "splits": splits,
            "test_by_size": {k: results["test"][k] for k in ("map_small", "map_medium", "map_large")},
            "per_class_ap_test": results["test"]["per_class"],
        }
        epochs = sorted(p.name for p in Path(run_dir).glob("predictions_epoch*.png"))
        summary = report.format_summary(splits, results["test"]["per_class"])
        return Evaluation(metrics, summary, [*epochs, "predictions_train.png", "predictions_test.png"])

    def export_model(self, model, config, source):
        """The model with its decoding and detections on top ({"boxes", "scores", "classes",
        "num_detections"}); `CATEGORIES_FILE` beside it gives each class index's category id
        in the training data (COCO's ids, which need not count from 0), for `apps/predict.py`."""
        categories = [{"id": c["id"], "name": c["name"]} for c in source.splits["test"].ground_truth["categories"]]
        Path(config.export_dir).mkdir(parents=True, exist_ok=True)
        (Path(config.export_dir) / CATEGORIES_FILE).write_text(json.dumps(categories, indent=1) + "\n")
        return self.detector(model, config)

    def export_check(self):
        return report.export_check

    def export_metrics(self):
        return report.export_metrics

    def export_examples(self, source, config):
        """Test images and their boxes in input pixels (`data.labels`): the export report's
        mAP is measured in that frame, the same for every artifact."""
        return data.take_labelled(source.splits["test"], config.image_size, config.export_images, self.max_boxes)
