"""The fine-tuning model: RGB [0, 255] in, preprocessing layer, registry backbone, new head.

Preprocessing lives inside the model (the `Preprocess` layer), so it is applied exactly
once, whatever feeds the model: the training pipeline, the exported SavedModel/TFLite
files, or `apps/predict.py`.
"""

import os
import re

import keras

import keras_resnets as kr
from keras_resnets.imagenet import Preprocess
from keras_resnets import weights as weights_lib

# Default input size for `weights=None` (trained from scratch): small enough for a CPU.
SCRATCH_SIZE = 128


def resolve_weights(name, weights):
    """(weights argument for create_model, pretrained?, preprocessing mode, default image size).

    `weights` is "none", a tag of the weights table, or a path to a backbone weights file.
    A weights row's preprocessing and resolution override the spec's.
    """
    spec = kr.get_spec(name)
    if weights in (None, "none"):
        return None, False, spec.preprocessing, min(spec.default_size, SCRATCH_SIZE)
    entry = weights_lib.find(spec.registry_name, weights)
    if entry is not None:
        return weights, True, entry.preprocessing, entry.resolution
    if not os.path.exists(weights):
        tags = weights_lib.available(spec.registry_name)
        raise ValueError(
            f"--weights {weights!r} is neither a weights tag of {name} "
            f"({', '.join(tags) or 'it has none'}), 'none', nor an existing file."
        )
    return weights, True, spec.preprocessing, spec.default_size


def build_classifier(
    name, weights, num_classes, image_size, preprocessing, pretrained, dropout=0.2, backbone=None
):
    """Input (RGB [0, 255]) -> Preprocess -> backbone -> dropout -> float32 softmax head.

    `backbone`: a ready pooled feature model to use instead of registry model `name`
    (the benchmark wraps keras.applications' ResNet50V2 this way).

    A pretrained backbone is called with `training=False`, so its BatchNorm layers stay
    in inference mode even once unfrozen (keras.io's fine-tuning advice: updating the
    statistics on a small new dataset wrecks what was learnt). From scratch, BatchNorm
    trains as usual.
    """
    if backbone is None:
        backbone = kr.create_model(
            name,
            weights=weights,
            include_top=False,
            pooling="avg",
            input_shape=(image_size, image_size, 3),
        )
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = Preprocess(preprocessing, name="preprocess")(inputs)
    x = backbone(x, training=False) if pretrained else backbone(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    # float32 head: softmax and the loss need it under mixed precision.
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=f"{backbone.name}_classifier")


def backbone_of(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


_STAGE = re.compile(r"^(?:conv|stage|layer)(\d+)[_.]")


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
