"""Tasks: what a kind of problem adds to the task-agnostic training core.

`keras_resnets.training.run(task, config)` owns everything every task shares: options
and their defaults, phases and freezing, optimizer and schedule, precision, seeding,
checkpoints and resuming, progress output, the run folder with `metrics.json` and the
training curves, and the verified export. A task supplies the rest by subclassing `Task`:

- a frozen dataclass whose fields are the task's options; `identity` names those that
  define what a run computes (saved in the run's `config.json`: a run resumes only with
  the same ones) and `curves` the (history key, title) panels of `curves.png`;
- `data_name()`: a short name of the data, for the default run name;
- `load_data(config)`: the data, in whatever form the task's other methods take;
- `train_size(data)`: the number of training examples (one pass = one epoch);
- `train_batches(data, config, seed)`: endless shuffled, augmented training batches;
- `val_batches(data, config)`: the validation batches, evaluated after every epoch;
- `build_model(config, data, weights)`: the model, which holds its preprocessing and
  its backbone (`keras_resnets.create_model(config.model, weights=weights, ...)`) as a
  nested `keras.Model`, called with `training=False` when `config.pretrained`, so that
  the core can freeze and unfreeze backbone stages; `weights` is None when the core
  rebuilds the model in float32 for export and copies the trained weights into it;
- optional: `build_training_model(config, data, weights)`: (the model, the model that
  `fit` trains); by default the same one twice. A task that trains outputs beside the
  model's (segmentation's auxiliary loss) returns a second model sharing every layer of the
  first: the core trains, checkpoints and resumes the second, and evaluates, reports and
  exports the first;
- `compile_args(config)`: fresh keyword arguments of `model.compile` besides the optimizer
  (`loss` and `metrics` for most models);
- `evaluate(model, data, config, run_dir)`: an `Evaluation` (its metrics go into
  `metrics.json`, its plots into `run_dir`, its summary to stdout);
- `export_examples(data, config)`: real model inputs on which every exported artifact is
  checked against the Keras model, or (inputs, labels) where the labels give the report its
  task metric (segmentation: pixel accuracy and mIoU; detection: mAP); `labels(data)`: names of the outputs (`labels.txt`);
- optional: `callbacks(model, data, config, run_dir)`: extra Keras callbacks for every
  training phase (e.g. pictures of predictions after each epoch); none by default. A
  picture they draw into the run folder after every epoch is named by `epoch_picture` (a
  file name with `{epoch}`, such as `EPOCH_PICTURE`), so that the run's TensorBoard events
  carry it too.
- optional: `export_model(model, config, data)`: the model to export, made from the trained
  one (e.g. a detector with its decoding on top; the task may also write files of its own
  into `config.export_dir`, as detection's `CATEGORIES_FILE`), and `export_check()`: a module-level function replacing
  `export.checks.check_outputs` for outputs that are not class scores, with `agreement`:
  (the key of its agreement figure in a check, what that figure is) for the run's log,
  and `export_metrics()`: one replacing `export.checks.task_metrics` (the report's task
  metrics on labelled examples); by default the model itself, the default check and
  metrics and top-1 agreement.

Image tasks subclass `image_task.ImageTask`, which answers `data_name`, `load_data` (a
local folder or a tensorflow-datasets set, logged with its counts and skipped files),
`train_size` and `labels` for them.

Modules:
  data: sources and splits, the split rule, tensorflow-datasets, folder listing (every image task).
  images: image files as model inputs (decoding, checking, resizing), for every image task.
  image_task: `ImageTask`, the base of the image tasks.
  classification: `ClassificationTask` and its evaluation (the head: `heads.classifier`).
  classification_data: class folders, `splits.csv` and tensorflow-datasets as pipelines.
  classification_report: accuracy, per-class metrics, confusion matrix, summary text.
  detection, detection_data, detection_report: RetinaNet detection.
  segmentation, segmentation_data, segmentation_report: semantic segmentation.
"""

import abc
import dataclasses
import os
from typing import ClassVar

# The picture of predictions on fixed validation images that a task draws after each epoch.
EPOCH_PICTURE = "predictions_epoch{epoch:03d}.png"
# A detector's outputs (`heads.nms.Detections`' dict) and the order in which an exported
# file's runners give them as a list: by name.
DETECTION_OUTPUTS = ("boxes", "scores", "classes", "num_detections")
DETECTION_OUTPUT_ORDER = tuple(sorted(DETECTION_OUTPUTS))
# A detector's export folder: each class index's category in the training data, as a JSON
# list of {"id", "name"} (COCO's category ids), so that predictions name the data's own ids.
CATEGORIES_FILE = "categories.json"


@dataclasses.dataclass
class Evaluation:
    metrics: dict  # JSON-able; merged into metrics.json
    summary: str  # printed when the run ends
    plots: list  # file names the task wrote into the run folder


class Task(abc.ABC):
    """The interface between the training core and a task (see the module docstring)."""

    identity: ClassVar[tuple] = ()
    curves: ClassVar[tuple] = (("loss", "loss"),)
    agreement: ClassVar[tuple] = ("top1_agreement", "top-1 agreement")
    epoch_picture: ClassVar = None

    def options(self):
        """The options that define a run, as JSON values."""
        return {k: _json_value(getattr(self, k)) for k in self.identity}

    def option_defaults(self):
        """The defaults of the options that define a run, as JSON values: what a run saved
        before one of them existed ran with."""
        fields = {f.name: f.default for f in dataclasses.fields(self)}
        return {k: _json_value(fields[k]) for k in self.identity}

    def with_options(self, saved):
        """This task with the identity options of a saved run (to resume it)."""
        saved = {**self.option_defaults(), **saved}
        return dataclasses.replace(self, **{k: saved[k] for k in self.identity})

    @abc.abstractmethod
    def data_name(self): ...

    @abc.abstractmethod
    def load_data(self, config): ...

    @abc.abstractmethod
    def train_size(self, data): ...

    @abc.abstractmethod
    def train_batches(self, data, config, seed): ...

    @abc.abstractmethod
    def val_batches(self, data, config): ...

    @abc.abstractmethod
    def build_model(self, config, data, weights): ...

    def build_training_model(self, config, data, weights):
        model = self.build_model(config, data, weights)
        return model, model

    @abc.abstractmethod
    def compile_args(self, config): ...

    @abc.abstractmethod
    def evaluate(self, model, data, config, run_dir): ...

    @abc.abstractmethod
    def export_examples(self, data, config): ...

    @abc.abstractmethod
    def labels(self, data): ...

    def callbacks(self, model, data, config, run_dir):
        return []

    def export_model(self, model, config, data):
        return model

    def export_check(self):
        return None

    def export_metrics(self):
        return None


def data_summary(source):
    """What `metrics.json` says of a task's data source: its name, classes, split rule,
    counts per split and the files left out (with why)."""
    return {
        "source": source.name,
        "classes": source.class_names,
        "split_rule": source.split_rule,
        "counts": {k: v.count for k, v in source.splits.items()},
        "skipped_files": [{"file": f, "reason": r} for f, r in source.skipped],
    }


def _json_value(value):
    return os.fspath(value) if isinstance(value, os.PathLike) else value
