"""Which backbone layers train, from the stages the builder recorded.

The backbone is the model nested in the task's model (or the model itself) that carries
the builder's stage record, `stage_outputs` (`keras_resnets.core.builder`: the last layer of the stem, then of
each stage; `keras_resnets.features` passes it on). Keras lists a Functional model's
layers in topological order, so every layer of a stage comes after the end of the stage
before it and no later than its own end: walking the layers in order and moving on at
each recorded end gives each layer its stage, whatever the layers are named.

A model loaded from a `.keras` file has lost the record (Keras saves no Python
attributes), so it cannot be frozen by stage: rebuild it with `create_model` (or
`features`) and load its weights; the training core always builds its models itself.
"""

import keras

STAGE_RECORD = "stage_outputs"


def backbone_of(model):
    """The backbone: `model` itself when it carries the builder's stage record (a bare
    network, as the studies train), else the first nested `keras.Model` that does."""
    if getattr(model, STAGE_RECORD, None) is not None:
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model) and getattr(layer, STAGE_RECORD, None) is not None:
            return layer
    raise ValueError(
        f"{model.name} holds no keras_resnets backbone with its stages recorded (a nested model "
        f"with `{STAGE_RECORD}`), so its stages cannot be frozen. Build the backbone with "
        "keras_resnets.create_model or keras_resnets.features (a model loaded from a .keras file "
        "loses the record: rebuild it and load its weights)."
    )


def layer_stages(backbone):
    """Stage number of every backbone layer: 1 for the input side and the stem, then 2, 3,
    ... (as keras.applications' `conv{stage}_` names count). The layers after the last
    recorded end (pooling, a classifier) go with the last stage; a `features` model that
    stops inside a stage keeps that stage's number for its last layers."""
    ends = getattr(backbone, STAGE_RECORD)
    stages, current = [], 1
    for layer in backbone.layers:
        stages.append(current)
        if current < len(ends) and layer.name == ends[current - 1]:
            current += 1
    return stages


def set_trainable(model, unfreeze):
    """Freezes the backbone except its top `unfreeze` stages ("all": nothing frozen)."""
    backbone = backbone_of(model)
    backbone.trainable = unfreeze != "0"
    if unfreeze == "0":
        return
    # Layer by layer: Keras skips the recursive update when the flag seems unchanged.
    stages = layer_stages(backbone)
    first_trainable = min(stages) if unfreeze == "all" else max(stages) - int(unfreeze) + 1
    for layer, stage in zip(backbone.layers, stages):
        layer.trainable = stage >= first_trainable
