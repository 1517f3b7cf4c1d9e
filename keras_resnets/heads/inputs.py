"""The input side every task model shares: Input (RGB [0, 255]) -> Preprocess -> backbone."""

import keras

from keras_resnets.imagenet import Preprocess


def image_features(backbone, preprocessing, pretrained):
    """(inputs, features): an image input of the backbone's shape, the weights' own
    `preprocessing` as a layer named "preprocess", and `backbone` on top, nested as one
    layer (so that the training core can freeze its stages).

    Preprocessing inside the model is applied exactly once whatever feeds it: training
    pipelines, exported SavedModel/TFLite files, or `apps/predict.py`. A `pretrained`
    backbone is called with `training=False`, so its BatchNorm layers stay in inference
    mode even once unfrozen (keras.io's fine-tuning advice: updating the statistics on a
    small new data set wrecks what was learnt); from scratch, BatchNorm trains as usual.
    """
    inputs = keras.Input(backbone.input_shape[1:], name="image")
    x = Preprocess(preprocessing, name="preprocess")(inputs)
    return inputs, backbone(x, training=False) if pretrained else backbone(x)
