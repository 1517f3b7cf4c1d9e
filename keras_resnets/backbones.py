"""Every model as a backbone: `features`, its feature pyramid as a model, one output per level.

A module above the families, beside the registry (`keras_resnets.registry`). Not called
`features`, which would shadow the function `keras_resnets.features` once imported.
"""

import keras

from keras_resnets import registry


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
    taps = getattr(model, "pyramid_level_inputs", None)
    if taps is None:
        raise ValueError(
            f"{model.name} has no `pyramid_level_inputs`: build it with keras_resnets "
            "(a model loaded from a .keras file loses the attribute; rebuild it with "
            "create_model and load its weights)."
        )
    unknown = [level for level in levels if level not in taps]
    if unknown:
        raise ValueError(f"{model.name} has no level {unknown}; its levels: {sorted(taps)}.")
    outputs = {level: model.get_layer(taps[level]).output for level in levels}
    backbone = keras.Model(model.inputs, outputs, name=f"{model.name}_features")
    backbone.pyramid_level_inputs = {level: taps[level] for level in levels}
    # All stage ends, also those past the last level: freezing counts stages from the stem.
    backbone.stage_outputs = getattr(model, "stage_outputs", None)
    return backbone
