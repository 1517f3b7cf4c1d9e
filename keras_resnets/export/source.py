"""The model to export: a registered name built with its weights, or a `.keras` file."""

from pathlib import Path

from keras_resnets import imagenet
from keras_resnets.export.formats import LABELS_FILE
from keras_resnets.labels import LABEL_SETS


def load_model(model, weights=None, image_size=None, preprocessing=None):
    """(model, name, preprocessing mode or None, class names or None).

    `model` is a registry name, built with `weights` (a tag, "none" or a file; default the
    model's default tag) at `image_size` (default the weights' resolution), named by its
    weights' label set (ImageNet's, or a task model's), or a `.keras` file, whose class
    names come from the `labels.txt` beside it. The preprocessing mode is
    `preprocessing`, else the weights' own (a name) or the file's Preprocess layer's.
    """
    import keras

    import keras_resnets as kr
    from keras_resnets import weights as weights_lib
    from keras_resnets.export import exporter

    if str(model).endswith(".keras"):
        loaded = keras.saving.load_model(model, compile=False)
        labels_file = Path(model).parent / LABELS_FILE
        names = labels_file.read_text().splitlines() if labels_file.exists() else None
        return loaded, Path(model).stem, preprocessing or exporter.preprocessing_mode(loaded), names
    spec = kr.get_spec(model)
    chosen = weights_lib.select(spec, weights_lib.DEFAULT if weights is None else weights)
    side = image_size or chosen.resolution
    built = kr.create_model(spec.registry_name, weights=chosen.weights, input_shape=(side, side, 3))
    mode = preprocessing or chosen.preprocessing
    label_set = chosen.entry.labels if chosen.entry is not None else None  # a task model's (COCO's, VOC's)
    if label_set:
        names = list(LABEL_SETS[label_set])
    else:
        names = [imagenet.class_index()[i][1] for i in range(1000)] if built.output_shape[-1] == 1000 else None
    return built, spec.registry_name, mode, names
