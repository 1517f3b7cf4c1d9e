"""`ImageTask`: what every image task shares, so that a new one writes only its own parts.

An image task reads its data from a local folder (`data_dir`) or a tensorflow-datasets
set (`dataset`, prepared under `tfds_dir`) into a `data.Source`, and builds its model on
the shared input side (`keras_resnets.heads.inputs.image_features`: Input -> Preprocess
-> backbone, called with `training=False` when pretrained). A subclass is a frozen
dataclass (its option fields may come from an options dataclass it inherits) with at least
the fields `data_dir`, `dataset`, `tfds_dir` and `cache` (and the class attribute
`cached_bytes_per_pixel`), and writes:

- `read_folder(config)` and `read_tfds(config)`: its `Source` from `data_dir` or `dataset`,
  with `max_images` applied (`data.limit`, or its own way where the ground truth must
  follow);
- `skipped_what`: what its skipped files are, for the log line counting them;
- its pipelines, given `source.in_memory`: whether decoded images are cached (decided
  here from the `cache` option and the memory the data needs, `image_cache`);
- the rest of `Task`: pipelines, model, loss, evaluation, export examples.
"""

import abc
import logging
from pathlib import Path
from typing import ClassVar

from keras_resnets.tasks import Task, image_cache
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)


class ImageTask(Task):
    skipped_what: ClassVar[str] = "unusable files"

    def data_name(self):
        # A tfds name may hold a config ("voc/2007"): no "/" in a run folder's name.
        return Path(self.data_dir).resolve().name if self.data_dir else self.dataset.replace("/", "-")

    @abc.abstractmethod
    def read_folder(self, config): ...

    @abc.abstractmethod
    def read_tfds(self, config): ...

    def load_data(self, config):
        if self.data_dir:
            source = self.read_folder(config)
        elif self.dataset:
            source = self.read_tfds(config)
        else:
            raise DataError("No data: neither data_dir nor dataset is set.", "data_dir")
        log.info("Data %s", source.describe())
        if source.skipped:
            log.warning("%d %s skipped (listed above).", len(source.skipped), self.skipped_what)
        count = sum(split.count for split in source.splits.values())
        source.in_memory = image_cache.decide(self.cache, count, config.image_size, self.cached_bytes_per_pixel)
        return source

    def train_size(self, source):
        return source.splits["train"].count

    def labels(self, source):
        return source.class_names
