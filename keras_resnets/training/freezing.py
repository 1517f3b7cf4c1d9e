"""Which backbone layers train: the backbone is found inside the task's model, and its
layers are grouped into stages by their `conv{stage}_...` names.
"""

import re

import keras

_STAGE = re.compile(r"^(?:conv|stage|layer)(\d+)[_.]")


def backbone_of(model):
    """The backbone: the first nested `keras.Model` of a task's model."""
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def layer_stages(backbone):
    """Stage number of every backbone layer, from the `conv{stage}_...` names.

    Unnumbered layers (input, `pool1_*` after the stem, `post_bn`, pooling) belong to the
    stage before them, so the head-side layers go with the last stage.
    """
    stages, current = [], 1
    for layer in backbone.layers:
        match = _STAGE.match(layer.name)
        if match:
            current = int(match.group(1))
        stages.append(current)
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
