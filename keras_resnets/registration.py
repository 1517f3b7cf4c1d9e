"""Registers the package's serializable layers as soon as Keras is there, without importing it.

`keras.saving.load_model` finds a custom layer only once the module defining it has run
(`@keras.saving.register_keras_serializable`), so a plain `import keras_resnets` must
leave them registered. Importing those modules eagerly would import Keras, and with it
TensorFlow (about 10 s), in every process that imports the package: a command line could
not even refuse a misspelt flag before that. So `install()` registers them at once when
Keras is already imported, and otherwise waits for Keras with a finder on `sys.meta_path`
that wraps the loaders of `keras` and of this package's modules: once Keras has loaded
and no module of this package is half-way through its own import, the layer modules are
imported (they import nothing of this package that could then be half-initialised) and
the finder removes itself. A Keras import started from inside one of our modules (the
usual case: `kr.create_model` imports the families, which import Keras) therefore
registers when that outermost module has finished, never in the middle of it.
"""

import importlib
import importlib.abc
import sys

# The modules that define serializable layers: custom blocks, the Preprocess layer, the
# detector's decoding and its detections (NMS).
LAYER_MODULES = (
    "keras_resnets.blocks.attention",
    "keras_resnets.blocks.layers",
    "keras_resnets.heads.nms",
    "keras_resnets.heads.retinanet",
    "keras_resnets.imagenet",
)
PACKAGE = __name__.rpartition(".")[0]


def register():
    for name in LAYER_MODULES:
        importlib.import_module(name)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Imports `LAYER_MODULES` after Keras has loaded, outside any import of ours."""

    def __init__(self):
        self.loading = 0  # modules of this package being executed right now

    def find_spec(self, name, path, target=None):
        if name != "keras" and not name.startswith(PACKAGE + "."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader.exec_module = self._wrap(spec.loader.exec_module, name != "keras")
                return spec
        return None

    def _wrap(self, exec_module, ours):
        def exec_then_register(module):
            self.loading += ours
            try:
                exec_module(module)
            finally:
                self.loading -= ours
            if self.loading == 0 and "keras" in sys.modules and self in sys.meta_path:
                sys.meta_path.remove(self)
                register()

        return exec_then_register


def install():
    """Registers the layers now if Keras is imported, else as soon as it is."""
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
