"""The classifier head: pooled backbone features -> dropout -> float32 softmax."""

import keras

from keras_resnets.heads.inputs import image_features


def classifier(backbone, num_classes, preprocessing, pretrained, dropout=0.2):
    """Input (RGB [0, 255]) -> Preprocess -> `backbone` (pooled features) -> dropout ->
    softmax; `preprocessing` and `pretrained` as in `inputs.image_features`."""
    inputs, x = image_features(backbone, preprocessing, pretrained)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    # float32 head: softmax and the loss need it under mixed precision.
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=f"{backbone.name}_classifier")
