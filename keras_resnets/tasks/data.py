"""What the data of every image task shares: sources and splits, the split rule,
tensorflow-datasets, folder listing and the report of unusable files.

A task's data is a `Source`: a name, class names, three `Split`s (train/val/test, each a
`tf.data.Dataset` of unbatched examples and their count), the split rule it was made
with, and the files left out (with why). Each task's own data module
(`classification_data`, `detection_data`, `segmentation_data`) reads its layouts and
annotations into one and builds its pipelines; all else is here:

- the split rule: sort the file names of a group, shuffle them with `random.Random(1234)`,
  take the first round(70%) for train, the next round(15%) for val and the rest for test
  (`split_group`). Classification applies it per class (the rule that made
  `flowers-full/splits.csv`); detection and segmentation to all their images as one group.
- tensorflow-datasets: the builder downloaded and prepared on first use (offline, an
  error within seconds, where tfds itself retries for minutes) and the split plan that
  carves the missing splits out of "train".
- folders: the `images/` listing, `classes.txt`, the file checks (in parallel), and the
  unusable files: an error listing the first few, or with `skip_bad` one warning each.
- `limit`: the first N of every split, for quick trials and tests.
"""

import concurrent.futures
import dataclasses
import difflib
import logging
import random
import socket
import time
from pathlib import Path
from typing import Callable, Optional

import tensorflow as tf

from keras_resnets.tasks.images import IMAGE_EXTENSIONS
from keras_resnets.training.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
SPLIT_SEED = 1234
SPLIT_FRACTIONS = (0.70, 0.15)  # train, val; test is the rest
NAMES_RULE = "seeded 70/15/15 (random.Random(1234) on sorted image names)"
CLASSES_FILE = "classes.txt"
SHOWN_PROBLEMS = 10
CHECK_THREADS = 8
# tfds downloads (and its prepared-dataset mirror) live here; a short connect tells
# "offline" apart in seconds, where tfds itself retries for minutes.
TFDS_PROBE_HOST = ("storage.googleapis.com", 443)
TFDS_PROBE_TIMEOUT_S = 3


@dataclasses.dataclass
class Split:
    """A split's unbatched records (what they hold is the task's), their count, and how a
    record becomes an example: `decode(*record)` (None: records are examples already).
    Local folders keep file names as records, so that a streamed epoch shuffles names, not
    pixels (`images.examples`)."""

    dataset: tf.data.Dataset
    count: int
    decode: Optional[Callable] = None


@dataclasses.dataclass
class Source:
    name: str
    class_names: list
    splits: dict  # "train" | "val" | "test" -> Split
    split_rule: str
    skipped: list = dataclasses.field(default_factory=list)  # (path, reason)
    in_memory: bool = True  # decoded images cached, else streamed (`image_cache.decide`)

    def describe(self, shown=20):
        counts = ", ".join(f"{k} {v.count}" for k, v in self.splits.items())
        names = ", ".join(self.class_names[:shown]) + (", ..." if len(self.class_names) > shown else "")
        return f"{self.name}: {len(self.class_names)} classes ({names}); {counts}; split: {self.split_rule}"


# --------------------------------------------------------------------- the split rule


def split_group(names):
    """The documented seeded 70/15/15 split of one group of file names: {split: [names]}."""
    names = sorted(names)
    random.Random(SPLIT_SEED).shuffle(names)
    n_train = round(SPLIT_FRACTIONS[0] * len(names))
    n_val = round(SPLIT_FRACTIONS[1] * len(names))
    return {"train": names[:n_train], "val": names[n_train : n_train + n_val], "test": names[n_train + n_val :]}


def make_splits(rows, make, empty):
    """{split: make(rows[split])} for every split; an empty one is a `DataError` saying
    `empty(split)`."""
    splits = {}
    for split in SPLITS:
        if not rows[split]:
            raise DataError(empty(split), "data_dir")
        splits[split] = make(rows[split])
    return splits


def limit(source, max_images):
    """Keeps the first `max_images` of every split (quick trials and tests); None: all."""
    for split in source.splits.values():
        if max_images and split.count > max_images:
            # Shuffle before taking so that a prefix still holds every class.
            split.dataset = split.dataset.shuffle(
                split.count, seed=SPLIT_SEED, reshuffle_each_iteration=False
            ).take(max_images)
            split.count = max_images
    return source


# ------------------------------------------------------------------------- folders


def list_images(folder):
    """The image files directly in `folder` (by extension, hidden files left out), sorted."""
    return sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )


def read_class_names(root):
    """The class names of `<root>/classes.txt`: one per line, in index order."""
    path = Path(root) / CLASSES_FILE
    if not path.exists():
        raise DataError(f"{path} is missing: it names the classes, one per line, in index order.", "data_dir")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def check_all(check, items):
    """`[check(item) for item in items]`, in threads: checks that read files (Pillow
    releases the GIL while it decodes)."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        results = list(pool.map(check, items))
    seconds = time.perf_counter() - start
    log.info(
        "Checked %d files in %.1f s (%.2f s per 1,000 files, %d threads).",
        len(items), seconds, 1000 * seconds / max(1, len(items)), CHECK_THREADS,
    )  # fmt: skip
    return results


def refuse_or_skip(problems, skip_bad, heading):
    """Unusable files, one line each: a `DataError` (`heading`, then the first few lines)
    unless `skip_bad`, where each is logged as skipped instead."""
    if problems and not skip_bad:
        shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
        more = f"\n  ... and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise DataError(f"{heading}:\n  {shown}{more}", "skip_bad")
    for problem in problems:
        log.warning("Skipping %s", problem)


# ------------------------------------------------------------ tensorflow-datasets


def import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise DataError(
            f"tensorflow-datasets does not import ({exc}); it needs importlib_resources "
            "(`pip install -r requirements.txt`).",
            "dataset",
        ) from exc
    return tfds


def online(host=TFDS_PROBE_HOST, timeout=TFDS_PROBE_TIMEOUT_S):
    try:
        socket.create_connection(host, timeout=timeout).close()
    except OSError as exc:
        return exc
    return None


def tfds_split_plan(available):
    """tfds split expressions for train/val/test, carving missing ones out of "train"."""
    val = "validation" if "validation" in available else None
    test = "test" if "test" in available else None
    if test is None and val is None:
        return {"train": "train[:70%]", "val": "train[70%:85%]", "test": "train[85%:]"}
    if test is None:
        return {"train": "train[:85%]", "val": val, "test": "train[85%:]"}
    if val is None:
        return {"train": "train[:90%]", "val": "train[90%:]", "test": test}
    return {"train": "train", "val": val, "test": test}


def tfds_records(*image_keys):
    """tfds `decoders` that leave the `image_keys` features encoded: a split's records then
    hold a file's bytes rather than its pixels, so that a streamed epoch shuffles those
    (several times smaller) and decodes each image as it is used (`Split.decode`)."""
    tfds = import_tfds()
    return {key: tfds.decode.SkipDecoding() for key in image_keys}


def tfds_source(name, builder, class_names, split_of):
    """The `Source` of a prepared tfds `builder`: `split_of(expression)` makes the `Split`
    of each split expression of the plan (`tfds_split_plan`)."""
    plan = tfds_split_plan(set(builder.info.splits.keys()))
    splits = {split: split_of(expression) for split, expression in plan.items()}
    rule = ", ".join(f"{k}={v}" for k, v in plan.items())
    return Source(name, list(class_names), splits, f"tfds {rule}")


def prepared_builder(name, data_dir=None):
    """The tfds builder of `name`, downloaded and prepared if it is not yet; offline, a
    `DataError` within seconds (tfds itself retries for minutes)."""
    tfds = import_tfds()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DataError(f"Unknown tensorflow-datasets dataset {name!r}.{hint}", "dataset") from None
    if not builder.is_prepared():
        problem = online()
        if problem is not None:
            raise DataError(
                f"Cannot download the tensorflow-datasets dataset {name!r}: it is not prepared "
                f"in {builder.data_dir} and this machine is offline ({TFDS_PROBE_HOST[0]} did "
                f"not answer: {problem}).",
                "dataset",
            )
        builder.download_and_prepare()
    return builder
