"""The one Functional builder that every entrypoint calls.

A spec says what a network is; `core.options` says which block functions lay it out:
`STEMS` by `spec.stem`, `BLOCKS` by `spec.block`. Each stage function returns the last
feature map, its final normalisation included, and records the feature-pyramid taps and the
stage ends on the way (`blocks.pyramid.Taps`). The built model carries them as layer names:
`model.pyramid_level_inputs` (level -> layer name, the attribute keras-cv's task models
read) and `model.stage_outputs` (the last layer of the stem, then of each stage, in order:
what the training core freezes by). A model loaded from a `.keras` file has neither
attribute: rebuild it with `create_model` and load its weights.
"""

import sys
import warnings

import keras
from keras import layers

from keras_resnets import weights as weights_lib
from keras_resnets.blocks import pyramid
from keras_resnets.core.options import BLOCKS, STEMS
from keras_resnets.imagenet import Preprocess

MIN_SIZE = 32



def build_model(
    spec,
    include_top=True,
    weights=weights_lib.DEFAULT,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    include_preprocessing=False,
):
    """Builds `spec` as a Keras Functional model, with the keras.applications arguments.

    Args:
        spec: a `keras_resnets.Spec`.
        include_top: whether to add the global-average-pool + dense classifier.
        weights: `None` (random initialisation), a tag from the weights table
            (`"imagenet"`, `"cifar10"`, ...; see `keras_resnets.model_info(name)`),
            or the path to a weights file: `.weights.h5`, a legacy `.h5` (loaded by layer
            order), or a PyTorch checkpoint (`.pth`, `.safetensors`, ...), converted.
            Default: the model's default weights, "imagenet" where it has them, else its
            first tag, else None (`keras_resnets.weights.select`).
        input_tensor: optional Keras tensor to use as the image input.
        input_shape: optional `(H, W, C)` (or `(C, H, W)` for channels_first); at least
            32x32; any size (`None` entries too) when `include_top=False`.
        pooling: `None`, `"avg"` or `"max"`: pooling of the last feature map when
            `include_top=False`. Anything else is an error (keras.applications ignores it).
        classes: number of classes when `include_top=True` and the weights carry no
            classifier of that size.
        classifier_activation: activation of the `predictions` layer (`None` for logits);
            only `None` or `"softmax"` with pretrained weights.
        name: model name; defaults to the registry name.
        include_preprocessing: `True` puts the weights' own preprocessing inside the model
            (a `Preprocess` layer named "preprocess"), which then takes RGB in [0, 255];
            `False` (keras.applications' ResNets) expects `preprocess_input` outside.
    """
    chosen = weights_lib.select(spec, weights)
    entry, weights = chosen.entry, chosen.weights
    if entry is not None and include_top and classes != entry.classes:
        raise ValueError(
            f"If using `weights='{weights}'` with `include_top=True`, `classes` should "
            f"be {entry.classes}.  Received classes={classes}. To fine-tune on {classes} "
            "classes, pass `include_top=False, pooling='avg'` and add your own head."
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    if include_top:
        _validate_activation(classifier_activation, weights)
    input_shape = obtain_input_shape(
        input_shape,
        default_size=chosen.resolution,
        require_flatten=include_top,
        fixed_size=entry is not None and include_top,
        three_channels=entry is not None,
    )
    # The file comes first: offline, a missing one fails in seconds, before a deep
    # model spends its build time.
    weights_path = weights_lib.locate(entry, include_top, spec) if entry is not None else None

    img_input = _image_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing:
        x = Preprocess(chosen.preprocessing, name="preprocess")(x)
    x = STEMS[spec.stem].build(x, spec)
    taps = pyramid.Taps(spec)
    x = BLOCKS[spec.block].build(x, spec, taps)
    x = _head(x, include_top, pooling, classes, classifier_activation)

    if input_tensor is not None:
        inputs = keras.utils.get_source_inputs(input_tensor)
    else:
        inputs = img_input
    model = _functional(inputs, x, name or spec.registry_name)
    model.pyramid_level_inputs = {level: _layer_name(tensor) for level, tensor in taps.tensors.items()}
    model.stage_outputs = [_layer_name(tensor) for tensor in taps.stage_ends]

    if entry is not None:
        weights_lib.load(model, weights_path, entry, spec, include_top)
    elif weights is not None:
        weights_lib.load_file(model, weights, spec)
    return model


def _layer_name(tensor):
    return tensor._keras_history.operation.name


def _functional(inputs, outputs, name):
    # Keras maps a Functional graph recursively, about one frame per layer of the longest
    # path: ResNet1202's 3,600 layers need more than Python's default limit of 1,000.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return keras.Model(inputs, outputs, name=name)
    finally:
        sys.setrecursionlimit(limit)


def _head(x, include_top, pooling, classes, classifier_activation):
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def _validate_activation(classifier_activation, weights):
    if weights is None:
        return
    activation = keras.activations.get(classifier_activation)
    allowed = {keras.activations.get("softmax"), keras.activations.get(None)}
    if activation not in allowed:
        raise ValueError(
            "Only `None` and `softmax` activations are allowed for the "
            "`classifier_activation` argument when using pretrained weights, with "
            f"`include_top=True`; Received: classifier_activation={classifier_activation}"
        )


def _image_input(input_tensor, input_shape):
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not keras.backend.is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def obtain_input_shape(input_shape, default_size, require_flatten, fixed_size, three_channels):
    """Validates `input_shape` like keras.applications, for both data formats.

    `fixed_size`: pretrained classifier weights, so only the default shape is valid.
    `three_channels`: pretrained weights, so the input must be RGB.
    """
    channels_first = keras.config.image_data_format() == "channels_first"

    def shape_of(size, channels=3):
        return (channels, size, size) if channels_first else (size, size, channels)

    default_shape = shape_of(default_size)
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                "`input_shape` must be a tuple of three integers. "
                f"Received: input_shape={input_shape}"
            )
        channels = input_shape[0] if channels_first else input_shape[-1]
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if not three_channels:
            if channels not in (1, 3):
                warnings.warn(
                    "This model usually expects 1 or 3 input channels. However, it was "
                    f"passed an input_shape with {channels} input channels.",
                    stacklevel=3,
                )
            default_shape = shape_of(default_size, channels)
    if fixed_size:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(
                "When setting `include_top=True` and loading pretrained weights, "
                f"`input_shape` should be {default_shape}.  Received: "
                f"input_shape={input_shape}. Use `include_top=False` for other sizes."
            )
        return default_shape
    if input_shape is None:
        if require_flatten:
            return default_shape
        return shape_of(None)
    if channels != 3 and three_channels:
        raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
    if any(size is not None and size < MIN_SIZE for size in spatial):
        raise ValueError(
            f"Input size must be at least {MIN_SIZE}x{MIN_SIZE}; Received: "
            f"input_shape={input_shape}"
        )
    if require_flatten and None in input_shape:
        raise ValueError(
            "If `include_top` is True, you should specify a static `input_shape`. "
            f"Received: input_shape={input_shape}"
        )
    return input_shape

