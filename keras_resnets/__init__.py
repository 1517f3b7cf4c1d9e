"""keras_resnets: the residual-network family for Keras 3 (TensorFlow, JAX, PyTorch).

    import keras_resnets as kr
    model = kr.ResNet50V2(weights="imagenet")
    kr.list_models("resnet*"); kr.create_model("resnet18", weights=None, classes=10)

Names are resolved on first use (PEP 562), so `import keras_resnets.densenet` loads only
what DenseNet needs, and nothing here depends on the order in which modules are imported:
every table (specs, weights rows, converter layouts, stems and stages) is a literal in the
module that owns it.
"""

import importlib
import importlib.util

from keras_resnets import registration

# `keras.saving.load_model` finds the package's custom layers after `import keras_resnets`,
# which itself imports neither Keras nor TensorFlow (see `registration`).
registration.install()

__version__ = "0.1.0"

# Public function or class -> the module that defines it.
_API = {
    "create_model": "keras_resnets.core.registry",
    "get_spec": "keras_resnets.core.registry",
    "list_models": "keras_resnets.core.registry",
    "model_info": "keras_resnets.core.registry",
    "Spec": "keras_resnets.core.specs",
    "features": "keras_resnets.core.features",
    "decode_predictions": "keras_resnets.imagenet",
    "WeightsUnavailableError": "keras_resnets.weights",
}
_SUBMODULES = (
    "resnet", "resnet_v2", "resnet_bd", "resnext", "senet", "densenet", "dpn", "cifar",
    "variants", "imagenet", "weights", "convert", "blocks", "core", "training", "tasks", "export",
)  # fmt: skip


def preprocess_input(x, model, data_format=None, weights=None):
    """Preprocesses RGB [0, 255] images the way `model`'s weights expect.

    `model` is a registry name (e.g. "resnet50v2") or a spec; the mode is the spec's, or
    that of the weights row `weights` (a tag) where its training differed.
    """
    from keras_resnets import imagenet
    from keras_resnets import weights as weights_lib
    from keras_resnets.core.registry import get_spec

    spec = get_spec(model) if isinstance(model, str) else model
    mode = spec.preprocessing
    if weights is not None:
        entry = weights_lib.find(spec.registry_name, weights)
        if entry is None:
            tags = weights_lib.available(spec.registry_name)
            raise ValueError(f"{spec.name} has no weights {weights!r}; its tags: {tags or 'none'}.")
        mode = entry.preprocessing
    return imagenet.preprocess_input(x, mode=mode, data_format=data_format)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    # Any submodule, listed or not: `from keras_resnets import benchmark` must not fall
    # through to the registry below, which imports Keras.
    if name in _SUBMODULES or importlib.util.find_spec(f"keras_resnets.{name}") is not None:
        return importlib.import_module(f"keras_resnets.{name}")
    if not name.startswith("_"):
        from keras_resnets.core import registry

        if name in registry.ENTRYPOINTS:
            return registry.ENTRYPOINTS[name]
    raise AttributeError(f"module 'keras_resnets' has no attribute {name!r}")


def __dir__():
    from keras_resnets.core import registry

    return sorted({*globals(), *_API, *_SUBMODULES, *registry.ENTRYPOINTS})
