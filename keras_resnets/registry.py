"""Name -> spec registry: `list_models`, `create_model`, `model_info`, and entrypoints.

Public constructors such as `ResNet50V2` are generated from a spec by `entrypoint`:
they share `build_model`'s signature (so `help()` and IDEs show the real arguments)
and differ only in the spec and the default weights.
"""

import dataclasses
import difflib
import fnmatch
import functools
import inspect
import re

from keras_resnets import builder
from keras_resnets import weights as weights_lib
from keras_resnets.specs import Spec

_SPECS = {}
# (regex, factory) pairs for names that stand for a whole family, e.g. "wrn-28-10";
# `factory(*match.groups())` returns the spec.
_PATTERNS = []
# Spec fields that `create_model` accepts as architecture options (the others, such as
# `classes` and `name`, are `build_model` arguments).
SPEC_OPTIONS = sorted(
    {f.name for f in dataclasses.fields(Spec)} - set(inspect.signature(builder.build_model).parameters)
)


def entrypoint(spec, module):
    """Registers `spec` and returns its public constructor, e.g. `ResNet50(...)`."""
    if spec.registry_name in _SPECS:
        raise ValueError(f"Model {spec.registry_name!r} is registered twice.")
    _SPECS[spec.registry_name] = spec
    default_weights = weights_lib.default_tag(spec.registry_name)

    def constructor(*, weights=default_weights, classes=spec.classes, **kwargs):
        return builder.build_model(spec, weights=weights, classes=classes, **kwargs)

    signature = inspect.signature(builder.build_model)
    params = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in signature.parameters.values()
        if p.name != "spec"
    ]
    defaults = {"weights": default_weights, "classes": spec.classes}
    params = [p.replace(default=defaults[p.name]) if p.name in defaults else p for p in params]
    constructor.__signature__ = signature.replace(parameters=params)
    constructor.__name__ = constructor.__qualname__ = spec.name
    constructor.__module__ = module
    constructor.__doc__ = (
        f"Instantiates {spec.name}{f' ({spec.paper})' if spec.paper else ''}.\n\n"
        f"Registry name: {spec.registry_name!r}; pretrained weights: "
        f"{weights_lib.available(spec.registry_name) or 'none'} (default {default_weights!r}).\n"
        "Inputs are expected preprocessed with the family's `preprocess_input`.\n\n"
        + builder.build_model.__doc__.split("\n\n", 1)[1]
    )
    return constructor


def register_pattern(regex, factory):
    """Lets `get_spec` build the spec of any name of a family (`regex`), e.g. "wrn-28-10"."""
    _PATTERNS.append((re.compile(regex), factory))


def get_spec(name):
    key = name.lower()
    for regex, factory in _PATTERNS:
        match = regex.fullmatch(key)
        if match:
            return factory(*match.groups())
    if key not in _SPECS:
        close = difflib.get_close_matches(key, list(_SPECS), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}.{hint} `keras_resnets.list_models()` lists all "
            f"{len(_SPECS)} names."
        )
    return _SPECS[key]


def list_models(pattern=None):
    """Registered model names, sorted; `pattern` is a shell-style filter like "resnet*v2"."""
    names = sorted(_SPECS)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
    return names


def create_model(name, **kwargs):
    """Builds a registered model by name, e.g. `create_model("resnet18", weights=None)`.

    Keyword arguments are those of the entrypoint (include_top, weights, input_shape,
    pooling, classes, ...) and the architecture options of `SPEC_OPTIONS`, which change
    the spec: `create_model("resnet50", residual_weight=True, weights=None)`,
    `create_model("wrn-28-10", dropout=0.3)`. Unlike the entrypoints, the default is
    `weights=None` when the model has no ImageNet weights or its spec was changed.
    """
    spec = get_spec(name)
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in SPEC_OPTIONS}
    if options:
        spec = dataclasses.replace(spec, **options)
    # A changed spec no longer fits the pretrained files of the name it came from.
    kwargs.setdefault("weights", None if options else weights_lib.default_tag(spec.registry_name))
    kwargs.setdefault("classes", spec.classes)
    return builder.build_model(spec, **kwargs)


@functools.lru_cache(maxsize=None)
def _counts(name):
    from keras_resnets import analysis

    spec = get_spec(name)
    model = builder.build_model(spec, weights=None, classes=spec.classes)
    return analysis.count_params(model), analysis.count_macs(model)


def model_info(name):
    """Facts about a model: parameters and MACs at its default resolution, weights, preprocessing.

    Parameter and MAC counts are measured on a freshly built model (the first call per
    name builds it), not copied from papers.
    """
    spec = get_spec(name)
    params, macs = _counts(spec.registry_name)
    return {
        "name": spec.registry_name,
        "entrypoint": spec.name,
        "family": spec.family,
        "paper": spec.paper,
        "params": params["total"],
        "trainable_params": params["trainable"],
        "macs": macs,
        "input_size": spec.default_size,
        "preprocessing": spec.preprocessing,
        "weights": {
            e.tag: {
                "url": e.url,
                "source": e.source,
                "license": e.license,
                "resolution": e.resolution,
                "classes": e.classes,
                "preprocessing": e.preprocessing,
            }
            for e in weights_lib.TABLE
            if e.model == spec.registry_name
        },
        "spec": spec,
    }
