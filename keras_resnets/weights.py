"""The pretrained-weights table and the one code path that fetches and loads it.

Each row says where a file comes from, its hash, its layout (how it maps onto our
layers), its preprocessing and evaluation resolution. Architecture lives in the spec
tables; a model may have several rows (tags), e.g. "imagenet" and "cifar10".

Files are cached like keras.applications' (`$KERAS_HOME/models`, default
`~/.keras/models`), so a file placed there by hand works with no network.
"""

import contextlib
import dataclasses
import hashlib
import os
import socket
from typing import Optional

import keras

DOWNLOAD_TIMEOUT_S = 20
KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


class WeightsUnavailableError(OSError):
    """A pretrained file could not be downloaded or failed its hash check."""


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    model: str  # registry name
    tag: str  # what users pass as `weights=`
    url: str  # file with the classifier
    # md5 (32 hex) or sha256 (64 hex) of that file, or a sha256 prefix (torchvision's
    # file names carry the first 8 hex digits).
    file_hash: Optional[str]
    notop_url: Optional[str] = None  # file without the classifier, when the source has one
    notop_hash: Optional[str] = None
    # How the file maps onto our layers: "keras_h5" = a legacy Keras .h5 loaded by order.
    layout: str = "keras_h5"
    classes: int = 1000
    resolution: int = 224
    preprocessing: str = "caffe"
    source: str = "keras.applications"
    license: str = "MIT (keras-team/keras)"

    def file_for(self, include_top):
        if include_top or self.notop_url is None:
            return self.url, self.file_hash
        return self.notop_url, self.notop_hash


def keras_applications_row(model, top_hash, notop_hash, preprocessing, folder="resnet"):
    base = KERAS_APPLICATIONS_URL + folder + "/" + model
    return WeightsEntry(
        model=model,
        tag="imagenet",
        url=base + "_weights_tf_dim_ordering_tf_kernels.h5",
        file_hash=top_hash,
        notop_url=base + "_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash=notop_hash,
        preprocessing=preprocessing,
    )


# fmt: off
TABLE = [
    keras_applications_row("resnet50", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626", "caffe"),
    keras_applications_row("resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21", "caffe"),
    keras_applications_row("resnet152", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c", "caffe"),
    keras_applications_row("resnet50v2", "3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917", "tf"),
    keras_applications_row("resnet101v2", "6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5", "tf"),
    keras_applications_row("resnet152v2", "a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33", "tf"),
]
# fmt: on


def register(entry):
    """Adds (or replaces) a row; families with their own sources call this."""
    TABLE[:] = [e for e in TABLE if (e.model, e.tag) != (entry.model, entry.tag)] + [entry]


def available(model):
    return [e.tag for e in TABLE if e.model == model]


def default_tag(model):
    """What constructors load by default: "imagenet" where the model has it, else nothing."""
    return "imagenet" if "imagenet" in available(model) else None


def find(model, tag):
    for entry in TABLE:
        if entry.model == model and entry.tag == tag:
            return entry
    return None


def resolve(spec, weights):
    """Returns the table row for a tag, None for `None` or a file path; else raises."""
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"`weights` must be None, a tag or a path. Received: {weights!r}")
    entry = find(spec.registry_name, str(weights))
    if entry is not None:
        return entry
    if os.path.exists(weights):
        return None
    tags = available(spec.registry_name)
    raise ValueError(
        "The `weights` argument should be either `None` (random initialization), "
        f"one of the pretrained tags of {spec.name} ({', '.join(map(repr, tags)) or 'none yet'}), "
        f"or the path to the weights file to be loaded.  Received: weights={weights}"
    )


def cache_dir():
    """Where keras.utils.get_file puts downloads: $KERAS_HOME (or ~/.keras), else /tmp/.keras."""
    base = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    os.makedirs(base, exist_ok=True)
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return base


def file_hash(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_algorithm(expected):
    return "md5" if len(expected) == 32 else "sha256"


def hash_matches(path, expected):
    return file_hash(path, hash_algorithm(expected)).startswith(expected.lower())


@contextlib.contextmanager
def _socket_timeout(seconds):
    # urllib's urlretrieve (used by get_file) has no timeout of its own.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch(url, expected_hash, fname=None, cache_subdir="models"):
    """Returns a verified local copy of `url`, downloading it only when needed."""
    fname = fname or url.rsplit("/", 1)[-1]
    root = cache_dir()
    folder = os.path.join(root, cache_subdir)
    path = os.path.join(folder, fname)
    problem = "it is not in the cache"
    if os.path.exists(path):
        if expected_hash is None or hash_matches(path, expected_hash):
            return path
        problem = (
            f"the cached copy {path} fails its {hash_algorithm(expected_hash)} check "
            "(corrupt or truncated), so it was not loaded"
        )
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            path = keras.utils.get_file(
                fname,
                origin=url,
                # get_file knows whole hashes only; a prefix is checked below.
                file_hash=expected_hash if expected_hash and len(expected_hash) in (32, 64) else None,
                cache_subdir=cache_subdir,
                cache_dir=root,
                # Only a cached copy that failed its check is here; get_file would keep it.
                force_download=os.path.exists(path),
            )
    except Exception as exc:  # urllib, OSError, and get_file's own hash ValueError alike
        check = f" ({hash_algorithm(expected_hash)} {expected_hash})" if expected_hash else ""
        raise WeightsUnavailableError(
            f"Could not get the weights file {fname}: {problem}, and the download from "
            f"{url} failed ({type(exc).__name__}: {exc}). If this machine is offline, "
            f"download that URL elsewhere and put the file in {folder}/ under the name "
            f"{fname}{check}, or pass `weights=<path to the file>`."
        ) from exc
    if expected_hash is not None and not hash_matches(path, expected_hash):
        raise WeightsUnavailableError(f"{path} does not match its expected hash {expected_hash}.")
    return path


def load_file(model, path):
    """Loads a local weights file: Keras 3 `.weights.h5`/`.keras`, or a legacy `.h5` by order."""
    model.load_weights(os.fspath(path))


# layout -> function(model, entry, include_top); converter modules add their layouts.
LOADERS = {}


def _load_keras_h5(model, entry, include_top):
    url, expected = entry.file_for(include_top)
    load_file(model, fetch(url, expected))


LOADERS["keras_h5"] = _load_keras_h5


def load_pretrained(model, entry, include_top):
    LOADERS[entry.layout](model, entry, include_top)
