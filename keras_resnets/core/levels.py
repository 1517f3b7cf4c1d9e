"""A built backbone cut at its pyramid levels: the one cut that `features` and the task models share."""

import keras


def level_features(model, levels, name=None):
    """A Functional model from `model`'s input to `{level: feature map}`, carrying the
    builder's records: `pyramid_level_inputs` for the levels it outputs, and all stage ends
    (`stage_outputs`, also those past the last level: freezing counts stages from the stem)."""
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
    cut = keras.Model(model.inputs, outputs, name=name or f"{model.name}_features")
    cut.pyramid_level_inputs = {level: taps[level] for level in levels}
    cut.stage_outputs = getattr(model, "stage_outputs", None)
    return cut
