"""Public constructors such as `ResNet50V2(...)`: one line each over a spec.

`entrypoint(spec, module)` returns a function with keras.applications' signature,
positional order included (`ResNet50(False, None, None, (96, 96, 3))` works as it does
there), plus the keyword-only `include_preprocessing`. Its default weights and docstring
come from the weights table, a literal module (`keras_resnets.weights.rows`), so they do
not depend on which modules were imported before. The default is the one answer of
`keras_resnets.weights.select`: "imagenet" where the model has it, else its first tag
(`ResNet20()` loads its CIFAR-10 weights as `keras.applications.ResNet50()` loads ImageNet's),
else None.
"""

import dataclasses

from keras_resnets import weights as weights_lib
from keras_resnets.core import builder

# The Args section of build_model's docstring; none under `python -OO`, which drops docstrings.
_ARGS_DOC = (builder.build_model.__doc__ or "").partition("\n\n")[2]


def entrypoint(spec, module):
    """The public constructor of `spec`; `module` is the family module that exports it.

    The constructor's spec is marked as registered (`Spec.registered`), so that a spec
    changed from it later (`create_model(name, attention="se")`) knows it is changed.
    """
    spec = dataclasses.replace(spec, registered=spec.architecture_digest())
    default_weights = weights_lib.select(spec).weights

    def constructor(
        include_top=True,
        weights=default_weights,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=spec.classes,
        classifier_activation="softmax",
        name=None,
        *,
        include_preprocessing=False,
    ):
        return builder.build_model(
            spec,
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name,
            include_preprocessing=include_preprocessing,
        )

    constructor.__name__ = constructor.__qualname__ = spec.name
    constructor.__module__ = module
    constructor.spec = spec
    tags = weights_lib.available(spec.registry_name)
    paper = f" ({spec.paper})" if spec.paper else ""
    constructor.__doc__ = (
        f"Instantiates {spec.name}{paper}.\n\n"
        f"Registry name: {spec.registry_name!r}; pretrained weights: {tags or 'none'} "
        f"(default {default_weights!r}).\nInputs: the family's `preprocess_input` "
        f"({spec.preprocessing!r} mode), or RGB in [0, 255] with `include_preprocessing=True`."
        f"\n\n{_ARGS_DOC}"
    )
    return constructor


def is_entrypoint(value):
    return callable(value) and hasattr(value, "spec")
