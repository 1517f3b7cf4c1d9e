"""`build(spec, weights=..., input_shape=..., num_classes=...)`: a task model with its weights.

The weights rule is the package's one rule (`keras_resnets.weights.select`): a task model
defaults to its first weights row (torchvision's COCO file), `None` is random, a tag is a
row, a path is a file. A file is located (and downloaded) before any model is built, so an
offline machine fails at once with the URL, the file name and the cache folder.

`num_classes` different from the weights' classes is fine-tuning: the model is built with
the weights' classes, loaded, and every layer but `spec.class_layers` is copied into the
model with `num_classes`, whose class layers start from their initialisers. A file given
as a path is taken to hold the published head (`spec.classes` classes); to reload weights
you saved from a model of other classes, build it with `weights=None` and the same
`num_classes`, then call `model.load_weights(path)`.
"""

import dataclasses

from keras_resnets import weights as weights_lib
from keras_resnets.convert.checkpoint import flat_layers


def build(spec, weights=weights_lib.DEFAULT, input_shape=None, num_classes=None, **options):
    if options:
        spec = dataclasses.replace(spec, options=tuple(sorted(options.items())))
    chosen = weights_lib.select(spec, weights)
    entry = chosen.entry
    path = weights_lib.locate(entry, True, spec) if entry is not None else None
    source_classes = entry.classes if entry is not None else spec.classes
    num_classes = num_classes or source_classes
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer; got {num_classes!r}.")
    shape = tuple(input_shape or (spec.default_size, spec.default_size, 3))
    if not chosen.pretrained:
        return spec.make(spec, shape, num_classes, **options)
    model = spec.make(spec, shape, source_classes, **options)
    if entry is not None:
        weights_lib.load(model, path, entry, spec, include_top=True)
    else:
        weights_lib.load_file(model, chosen.weights, spec)
    if num_classes == source_classes:
        return model
    target = spec.make(spec, shape, num_classes, **options)
    transfer(model, target, skip=spec.class_layers)
    return target


def transfer(source, target, skip):
    """Copies every layer's weights from `source` into `target` (same names) but `skip`'s."""
    sources = {layer.name: layer for layer in flat_layers(source)}
    for layer in flat_layers(target):
        if layer.weights and layer.name not in skip:
            layer.set_weights(sources[layer.name].get_weights())
