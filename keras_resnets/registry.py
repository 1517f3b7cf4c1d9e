"""Name -> spec registry: `list_models`, `create_model`, `model_info`, `get_spec`.

The registry is read off the family modules listed in `FAMILIES`: every public
constructor there (`keras_resnets.core.entrypoint`) is one registered model, so adding a
variant is one line in its family module (plus a weights row if it has weights).
`PATTERNS` are names that stand for a whole family, e.g. "wrn-28-10".

It sits above the families, and nothing below imports it: loading a model's weights never
consults the registry (`tests/test_imports.py` keeps every import arrow pointing down).
"""

import dataclasses
import difflib
import fnmatch
import functools
import inspect

from keras_resnets import cifar, densenet, dpn, labels, resnet, resnet_bd, resnet_v2, resnext, senet, task_models, variants
from keras_resnets import weights as weights_lib
from keras_resnets.core import builder, options
from keras_resnets.core.entrypoint import is_entrypoint
from keras_resnets.core.specs import Spec


def entrypoints_of(modules):
    """`{name: constructor}` of the constructors that `modules` define (not import)."""
    return {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if is_entrypoint(value) and value.__module__ == module.__name__
    }


FAMILIES = (resnet, resnet_v2, resnet_bd, resnext, senet, densenet, dpn, cifar, variants)
ENTRYPOINTS = entrypoints_of(FAMILIES)
_SPECS = {fn.spec.registry_name: fn.spec for fn in ENTRYPOINTS.values()}
# (compiled regex, factory): `factory(*match.groups())` returns the spec.
PATTERNS = (cifar.WRN_PATTERN,)
# Spec fields that `create_model` accepts as architecture options (the others, such as
# `classes` and `name`, are `build_model` arguments; `registered` is bookkeeping).
SPEC_OPTIONS = sorted(
    {f.name for f in dataclasses.fields(Spec) if f.compare}
    - set(inspect.signature(builder.build_model).parameters)
)


def get_spec(name):
    """The spec of a registered name: a backbone `Spec`, or a task model's `TaskModelSpec`."""
    key = name.lower()
    for regex, factory in PATTERNS:
        match = regex.fullmatch(key)
        if match:
            return factory(*match.groups())
    if key in task_models.SPECS:
        return task_models.SPECS[key]
    if key not in _SPECS:
        known = [*_SPECS, *task_models.SPECS]
        close = difflib.get_close_matches(key, known, n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}.{hint} `keras_resnets.list_models(task=...)` lists them "
            f"(classification: {len(_SPECS)} names; detection and segmentation: "
            f"{len(task_models.SPECS)})."
        )
    return _SPECS[key]


def list_models(pattern=None, task="classification"):
    """Registered model names, sorted; `pattern` is a shell-style filter like "resnet*v2".

    `task`: "classification" (the backbones, the default, as timm and keras.applications
    list them), "detection" or "segmentation" (whole pretrained task models), or None (all).
    """
    if task is not None and task not in task_models.TASKS:
        raise ValueError(f"Unknown task {task!r}; use one of {task_models.TASKS} or None.")
    names = [] if task not in (None, "classification") else list(_SPECS)
    names += [n for n, s in task_models.SPECS.items() if task in (None, s.task)]
    names = sorted(names)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
    return names


def create_model(name, **kwargs):
    """Builds a registered model by name, e.g. `create_model("resnet18", weights=None)`.

    Keyword arguments are those of the entrypoint (include_top, weights, input_shape,
    pooling, classes, ...) and the architecture options of `SPEC_OPTIONS`, which change
    the spec: `create_model("resnet50", residual_weight=True, weights=None)`,
    `create_model("wrn-28-10", dropout=0.3)`. An option that the model's block kind and
    stem do not read is an error that names the families that read it.

    `weights` defaults as in the entrypoints (`keras_resnets.weights.select`): "imagenet"
    where the model has it, else its first tag, else None; None too when the options
    changed the architecture (its layers no longer fit the files). Training options
    (`keras_resnets.core.specs.TRAINING_OPTIONS`: dropout, drop_path_rate) keep the default
    weights.
    """
    spec = get_spec(name)
    if isinstance(spec, task_models.TaskModelSpec):
        return task_models.build(spec, **kwargs)
    changes = {k: kwargs.pop(k) for k in list(kwargs) if k in SPEC_OPTIONS}
    if changes:
        _refuse_unread(spec, changes)
        spec = dataclasses.replace(spec, **changes)
    kwargs.setdefault("classes", spec.classes)
    return builder.build_model(spec, **kwargs)


def _refuse_unread(spec, changes):
    block, stem = changes.get("block", spec.block), changes.get("stem", spec.stem)
    unread = sorted(set(changes) - options.reads(block, stem))
    if not unread:
        return
    by_families = {}
    for option in unread:
        by_families.setdefault(tuple(families_reading(option)), []).append(repr(option))
    accepted = "; ".join(
        f"{', '.join(names)}: {', '.join(families) or 'no family'}" for families, names in by_families.items()
    )
    raise ValueError(
        f"{spec.registry_name} ({block!r} blocks, {stem!r} stem) does not read "
        f"{', '.join(map(repr, unread))}; the families that read {'it' if len(unread) == 1 else 'them'}: "
        f"{accepted}."
    )


def families_reading(option):
    """The registered families (`Spec.family`) whose block kind or stem reads `option`."""
    return sorted({s.family for s in _SPECS.values() if option in options.reads(s.block, s.stem)})


@functools.lru_cache(maxsize=None)
def _counts(name):
    from keras_resnets.core import analysis

    spec = get_spec(name)
    if isinstance(spec, task_models.TaskModelSpec):
        model = task_models.build(spec, weights=None, **dict(spec.counted_options))
    else:
        model = builder.build_model(spec, weights=None, classes=spec.classes)
    return analysis.count_params(model), analysis.count_macs(model)


def model_info(name):
    """Facts about a model: parameters and MACs at its default resolution, weights, preprocessing.

    Parameter and MAC counts are measured on a freshly built model (the first call per
    name builds it), not copied from papers. A task model is counted as its published
    file is built (`TaskModelSpec.counted_options`): torchvision's segmenters with their
    auxiliary head, so `trainable_params` is torchvision's `num_params`; "params" also
    counts BatchNorm's moving statistics.
    """
    spec = get_spec(name)
    params, macs = _counts(spec.registry_name)
    task = getattr(spec, "task", "classification")
    return {
        "name": spec.registry_name,
        "task": task,
        "entrypoint": spec.name if task == "classification" else "create_model",
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
                # None: the source publishes no hash (timm), so the download is not checked.
                "file_hash": e.file_hash,
                "labels": labels.names(e.labels) if e.labels else None,
                "published": e.published or None,
            }
            for e in weights_lib.TABLE
            if e.model == spec.registry_name
        },
        "spec": spec,
    }
