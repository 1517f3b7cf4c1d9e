"""The images the studies train and evaluate on, as NumPy arrays (no TensorFlow needed).

`--data` names one of three sources:

- a folder holding `cifar10_test_yoongikim_jpeg.npz` (this workplace's
  `../shared/data/cifar10-test`): the 10,000 real CIFAR-10 *test* images, the only CIFAR-10
  images here. Studies that train use a fixed 8,000 of them (the first 800 of each class)
  for training and the other 2,000 for evaluation; a pretrained CIFAR-10 net, which never
  saw any of them, is evaluated on all 10,000.
- `cifar10`: tensorflow-datasets' CIFAR-10 (50,000 training and 10,000 test images); it
  needs the network, or a copy prepared beforehand.
- a folder of `<class>/<image>` photos (e.g. `../shared/data/flowers-full`), squashed to
  32x32; its `splits.csv` (file,class,split) is honoured (train and val train, test
  evaluates), otherwise every fifth file of a class (sorted) is a test image.

Images are float32 RGB in [0, 255]: the studies' models hold their preprocessing layer.
Evaluation sets are interleaved by class, so that `--limit N` (the first N) stays balanced.
"""

import csv
import dataclasses
from pathlib import Path

import numpy as np

from keras_resnets.training.errors import DataError

CIFAR10_NPZ = "cifar10_test_yoongikim_jpeg.npz"
TRAIN_PER_CLASS = 800  # of the 1,000 CIFAR-10 test images of each class
IMAGE_SIZE = 32
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


@dataclasses.dataclass
class StudyData:
    """Training images, the images held out from them, and the source's whole test set."""

    name: str
    class_names: list
    train: tuple  # (images, labels)
    held_out: tuple  # never trained on by the studies
    test: tuple  # never trained on by the source's pretrained nets (CIFAR-10 weights)
    note: str  # what was split how, printed with every study

    def evaluation(self, trained_here):
        """(images, labels, description): images that the net never saw."""
        images, labels = self.held_out if trained_here else self.test
        which = "held-out" if trained_here else "test"
        return images, labels, f"{len(labels):,} {which} images of {self.name}"

    def limited(self, limit):
        """The same data evaluated on the first `limit` images only (None: all)."""
        return dataclasses.replace(
            self,
            held_out=tuple(a[:limit] for a in self.held_out),
            test=tuple(a[:limit] for a in self.test),
        )

    def training(self, count=None):
        images, labels = self.train
        return images[:count], labels[:count]


def rank_in_class(labels):
    """For each image, how many images of its class come before it."""
    rank = np.zeros(len(labels), dtype=int)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(len(where))
    return rank


def interleave(images, labels):
    """Reorders so that classes alternate (0, 1, ..., 9, 0, 1, ...): every prefix is balanced."""
    order = np.lexsort((labels, rank_in_class(labels)))
    return images[order], labels[order]


def cifar10_test_folder(folder):
    with np.load(Path(folder) / CIFAR10_NPZ) as npz:
        images, labels, names = npz["x"].astype("float32"), npz["y"].astype("int64"), npz["class_names"]
    train = rank_in_class(labels) < TRAIN_PER_CLASS
    return StudyData(
        "the CIFAR-10 test set (JPEG)",
        [str(n) for n in names],
        interleave(images[train], labels[train]),
        interleave(images[~train], labels[~train]),
        interleave(images, labels),
        f"Only the 10,000 CIFAR-10 test images exist here ({folder}): studies train on "
        f"{TRAIN_PER_CLASS} of each class (8,000) and evaluate on the other 2,000; "
        "pretrained CIFAR-10 weights are evaluated on all 10,000.",
    )


def cifar10_tfds():
    from keras_resnets.tasks import classification_data  # imports TensorFlow: only here

    source = classification_data.load_tfds("cifar10")
    splits = {name: _arrays(source.splits[name].dataset) for name in ("train", "val", "test")}
    train = tuple(np.concatenate(pair) for pair in zip(splits["train"], splits["val"]))
    test = interleave(*splits["test"])
    return StudyData(
        "CIFAR-10 (tensorflow-datasets)",
        source.class_names,
        train,
        test,
        test,
        "CIFAR-10 from tensorflow-datasets: 50,000 training images, 10,000 test images.",
    )


def _arrays(dataset):
    pairs = list(dataset.as_numpy_iterator())
    images = np.stack([image for image, _ in pairs]).astype("float32")
    return images, np.array([label for _, label in pairs], dtype="int64")


def photo_folder(folder):
    from PIL import Image

    folder = Path(folder)
    rows = _split_rows(folder)
    class_names = sorted({c for _, c, _ in rows})
    index = {name: i for i, name in enumerate(class_names)}
    parts = {"train": ([], []), "test": ([], [])}
    for file, class_name, split in rows:
        with Image.open(folder / file) as image:
            small = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)
        images, labels = parts["test" if split == "test" else "train"]
        images.append(np.asarray(small, dtype="float32"))
        labels.append(index[class_name])
    train, test = ((np.stack(x), np.array(y, dtype="int64")) for x, y in parts.values())
    test = interleave(*test)
    return StudyData(
        folder.name,
        class_names,
        train,
        test,
        test,
        f"{folder}: {len(train[1]):,} training and {len(test[1]):,} test photos "
        f"({len(class_names)} classes), squashed to {IMAGE_SIZE}x{IMAGE_SIZE}.",
    )


def _split_rows(folder):
    """(file, class, split) rows: splits.csv, or every fifth sorted file of a class for test."""
    csv_path = folder / "splits.csv"
    if csv_path.exists():
        with open(csv_path) as f:
            return [(r["file"], r["class"], r["split"]) for r in csv.DictReader(f)]
    rows = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        for i, path in enumerate(files):
            rows.append((str(path.relative_to(folder)), class_dir.name, "test" if i % 5 == 4 else "train"))
    if len({c for _, c, _ in rows}) < 2:
        raise DataError(f"{folder} holds fewer than two class folders of images.", "data")
    return rows


def load(data):
    """The `StudyData` of `data`: "cifar10", a CIFAR-10 test-set folder or a photo folder."""
    if data == "cifar10":
        return cifar10_tfds()
    folder = Path(data)
    if (folder / CIFAR10_NPZ).exists():
        return cifar10_test_folder(folder)
    if folder.is_dir():
        return photo_folder(folder)
    raise DataError(
        f"{data} is neither 'cifar10' nor a folder. Use --data cifar10 (tensorflow-datasets, "
        "needs the network), a folder holding cifar10_test_yoongikim_jpeg.npz (here: "
        "../shared/data/cifar10-test) or a folder of <class>/<image> photos.",
        "data",
    )


def augment(images, rng, pad=4):
    """He et al.'s CIFAR augmentation: pad 4 pixels (zeros), crop 32x32 at random, flip half."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows = rng.integers(0, 2 * pad + 1, n)
    cols = rng.integers(0, 2 * pad + 1, n)
    out = np.stack([padded[i, r : r + h, c : c + w] for i, (r, c) in enumerate(zip(rows, cols))])
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    return out
