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
    "create_model": "keras_resnets.registry",
    "get_spec": "keras_resnets.registry",
    "list_models": "keras_resnets.registry",
    "model_info": "keras_resnets.registry",
    "Spec": "keras_resnets.core.specs",
    "features": "keras_resnets.backbones",
    "fold_batchnorm": "keras_resnets.core.folding",
    "decode_predictions": "keras_resnets.imagenet",
    "WeightsUnavailableError": "keras_resnets.weights",
}
_SUBMODULES = (
    "resnet", "resnet_v2", "resnet_bd", "resnext", "senet", "densenet", "dpn", "cifar",
    "variants", "imagenet", "weights", "convert", "blocks", "core", "training", "tasks", "export",
    "registry",
)  # fmt: skip


def preprocess_input(x, model, data_format=None, weights=None):
    """Preprocesses RGB [0, 255] images the way `model`'s weights expect.

    `model` is a registry name (e.g. "resnet50v2") or a spec. `weights` is a tag (its
    row's mode, where its training differed from the family's) or a file (the spec's mode);
    by default, the model's default weights (`keras_resnets.weights.select`, the rule that
    the constructors follow too).
    """
    from keras_resnets import imagenet, registry
    from keras_resnets import weights as weights_lib

    spec = registry.get_spec(model) if isinstance(model, str) else model
    chosen = weights_lib.select(spec, weights_lib.DEFAULT if weights is None else weights)
    return imagenet.preprocess_input(x, mode=chosen.preprocessing, data_format=data_format)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    # Any submodule, listed or not: `from keras_resnets import benchmark` must not fall
    # through to the registry below, which imports Keras.
    if name in _SUBMODULES or importlib.util.find_spec(f"keras_resnets.{name}") is not None:
        return importlib.import_module(f"keras_resnets.{name}")
    if not name.startswith("_"):
        from keras_resnets import registry

        if name in registry.ENTRYPOINTS:
            return registry.ENTRYPOINTS[name]
    raise AttributeError(f"module 'keras_resnets' has no attribute {name!r}")


def __dir__():
    from keras_resnets import registry

    return sorted({*globals(), *_API, *_SUBMODULES, *registry.ENTRYPOINTS})
