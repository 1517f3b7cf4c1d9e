"""Pretrained weights: the table, and the one path that fetches, verifies and loads a row.

The rows are one literal table (`keras_resnets.weights.rows`); `TABLE` is its working copy,
which `register` extends for weights of your own. Architecture lives in the spec tables;
a model may have several rows (tags), e.g. "imagenet" and "tv_in1k".

`select(spec, weights)` is the one answer to "what does this name and this `weights`
argument imply": the argument to build with, the row, the preprocessing and the resolution.
The constructors, `create_model`, `features`, `preprocess_input`, the training runs, the
export and the prediction apps all ask it. A name's default weights are "imagenet" where
it has that row, else its first row's tag, else none (random initialisation), as
keras.applications defaults to "imagenet"; a spec changed from the registered one has no
default weights (its layers no longer fit the files), unless only its training options
(`keras_resnets.core.specs.TRAINING_OPTIONS`, e.g. dropout) changed.

Loading a row is two steps, so that a missing file fails before any model is built:
`locate` returns a verified local file (the cached conversion, the cached download, or a
fresh download), `load` puts it into the built model through the spec it was built from.
Converted layouts go through `keras_resnets.convert`, which is handed the row's layout and
never looks anything up here: the name a conversion is cached under is decided here
(`cached_weights_path`), from the spec alone.

Files are cached like keras.applications' (`$KERAS_HOME/models`, default
`~/.keras/models`), so a file placed there by hand works with no network.
"""

import contextlib
import dataclasses
import hashlib
import os
import re
import socket
from typing import Optional

import keras

from keras_resnets.weights.entry import WeightsEntry
from keras_resnets.weights.rows import ROWS

DOWNLOAD_TIMEOUT_S = 20
KERAS_LAYOUT = "keras_h5"
# Files that `weights=<path>` converts (PyTorch checkpoints); anything else loads as Keras weights.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".th", ".bin", ".safetensors")

TABLE = list(ROWS)

__all__ = [
    "DEFAULT", "TABLE", "Selection", "WeightsEntry", "WeightsUnavailableError", "available",
    "cache_dir", "cached_weights_path", "default_tag", "fetch", "file_hash", "find", "load",
    "load_file", "locate", "register", "resolve", "select",
]  # fmt: skip


class _Default:
    def __repr__(self):
        return "DEFAULT"


# "The model's default weights", where None already means random initialisation.
DEFAULT = _Default()


class WeightsUnavailableError(OSError):
    """A pretrained file could not be downloaded or failed its hash check."""


def register(entry):
    """Adds (or replaces) a row: weights of your own, under a tag of your choice."""
    TABLE[:] = [e for e in TABLE if (e.model, e.tag) != (entry.model, entry.tag)] + [entry]


def available(model):
    return [e.tag for e in TABLE if e.model == model]


def default_tag(model):
    """A registry name's default tag: "imagenet" where it has it, else its first, else None."""
    tags = available(model)
    if "imagenet" in tags:
        return "imagenet"
    return tags[0] if tags else None


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


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a model and a `weights` argument imply (`select`)."""

    weights: Optional[str]  # what to build with: a tag, a file path, or None (random)
    entry: Optional[WeightsEntry]  # the table row of a tag
    preprocessing: str  # the row's, else the spec's
    resolution: int  # the row's evaluation size, else the spec's default size

    @property
    def pretrained(self):
        return self.weights is not None


def select(spec, weights=DEFAULT):
    """The weights that `spec` (a registered spec, or one changed from it) is built with.

    `weights`: `DEFAULT` (the rule of this module's docstring), None or "none" (random),
    a tag of the table, or a file path. Raises ValueError for anything else.
    """
    if weights is DEFAULT:
        weights = default_tag(spec.registry_name) if spec.is_registered else None
    if weights is None or weights == "none":
        return Selection(None, None, spec.preprocessing, spec.default_size)
    entry = resolve(spec, weights)
    if entry is None:
        return Selection(os.fspath(weights), None, spec.preprocessing, spec.default_size)
    return Selection(entry.tag, entry, entry.preprocessing, entry.resolution)


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


def _models_dir():
    return os.path.join(cache_dir(), "models")


def checkpoint_fname(url):
    """Local file name of a checkpoint URL; timm's are all called model.safetensors."""
    match = re.search(r"huggingface\.co/([^/]+)/([^/]+)/resolve/[^/]+/(.+)$", url)
    if match:
        owner, repo, filename = match.groups()
        return f"{owner}_{repo}{os.path.splitext(filename)[1]}"
    return url.rsplit("/", 1)[-1]


def cached_weights_path(checkpoint_path, spec, include_top):
    """Where a conversion of `checkpoint_path` for `spec` is cached:
    `<checkpoint>.<model>[_notop].weights.h5`.

    A spec that is not its entrypoint's (`create_model` options such as `attention="se"`, or
    a spec made by hand) gets the digest of its architecture in the name (`<model>-<digest>`),
    so it never shares a cached file with the registered architecture; training options
    (dropout, drop_path_rate) do not count, as they change no weight.
    """
    key = spec.registry_name
    if not spec.is_registered:
        key += "-" + spec.architecture_digest()
    stem = os.path.splitext(os.fspath(checkpoint_path))[0]
    return f"{stem}.{key}{'' if include_top else '_notop'}.weights.h5"


def locate(entry, include_top, spec):
    """A verified local file for `entry`: what `load` needs, found before the model is built.

    Converted layouts are cached after their first load as `.weights.h5` beside the
    checkpoint (`cached_weights_path`); that file is used when present.
    """
    url, expected_hash = entry.file_for(include_top)
    if entry.layout == KERAS_LAYOUT:
        return fetch(url, expected_hash)
    fname = checkpoint_fname(url)
    cached = cached_weights_path(os.path.join(_models_dir(), fname), spec, include_top)
    if os.path.exists(cached):
        return cached
    return fetch(url, expected_hash, fname=fname)


def load(model, path, entry, spec, include_top):
    """Loads `path` from `locate` into `model`; a fresh checkpoint is converted and cached."""
    if entry.layout == KERAS_LAYOUT or path.endswith(".weights.h5"):
        model.load_weights(path)
        return
    from keras_resnets import convert

    convert.load_file(model, path, entry.layout, spec)
    cached = cached_weights_path(path, spec, include_top)
    # Written under a temporary name of this process first, so that neither an interrupted
    # save nor another process converting the same file at once is ever loaded half-written.
    partial = cached[: -len(".weights.h5")] + f".partial{os.getpid()}.weights.h5"
    model.save_weights(partial)
    os.replace(partial, cached)


def load_file(model, path, spec):
    """`weights=<path>`: a Keras 3 `.weights.h5`/`.keras`, a legacy `.h5` (by layer order),
    or a PyTorch checkpoint, converted through `spec` in the layout of its architecture."""
    path = os.fspath(path)
    if path.endswith(CHECKPOINT_SUFFIXES):
        from keras_resnets import convert

        convert.load_checkpoint(model, path, spec)
    else:
        model.load_weights(path)
