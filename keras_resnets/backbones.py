"""Every model as a backbone: `features`, its feature pyramid as a model, one output per level.

A module above the families, beside the registry (`keras_resnets.registry`). Not called
`features`, which would shadow the function `keras_resnets.features` once imported.
"""

from keras_resnets import registry
from keras_resnets.core.levels import level_features


def features(model, levels=("P3", "P4", "P5"), **kwargs):
    """A Functional model from the backbone's input to `{level: feature map}`.

    Args:
        model: a registry name (built with `create_model(model, include_top=False,
            **kwargs)`, so `weights`, `input_shape`, `output_stride` and the other options
            apply, and `weights` defaults as there: "imagenet" where the model has it, else
            its first tag) or a model built by keras_resnets (it carries
            `pyramid_level_inputs`).
        levels: pyramid levels `P<log2 stride>`: P2..P5 (strides 4..32) for ImageNet nets,
            P0..P2 for the CIFAR nets; `model.pyramid_level_inputs` lists them.

    The result carries `pyramid_level_inputs` for the levels it outputs.
    """
    if isinstance(model, str):
        model = registry.create_model(model, include_top=False, **kwargs)
    elif kwargs:
        raise TypeError(f"Options {sorted(kwargs)} apply only when `model` is a name.")
    return level_features(model, levels)
