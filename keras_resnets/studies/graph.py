"""Blocks of a built model, and the same model with blocks deleted (Veit et al. 2016's lesions).

Blocks are found by their layer names (README, "Layer names"): every block `b` =
`conv{s}_block{i}` ends in a layer `{b}_out`. Its merge, where the skip path joins the
branch, is an `Add` or `Highway` layer named `{b}_add` (post-activation) or `{b}_out`
(pre-activation, weighted); its first input is the skip path. Plain blocks have no merge.

Deleting a block keeps only its skip path, as Veit et al. do:

- residual, pre-activation and weighted blocks: the merge returns its shortcut input
  (the identity, or option A's subsampled and zero-padded input in a downsampling block);
  in a post-activation block the ReLU after it still applies, which changes nothing,
  since the block input already went through a ReLU and zero padding stays zero;
- highway blocks: the merge returns its carry (the gate shut, T = 0);
- plain blocks have no skip path, so deleting one feeds its input through unchanged:
  only where input and output have the same shape, i.e. not in downsampling blocks.

The deleted model is the original Functional graph re-traced over the *same* layer
objects (shared weights, nothing copied): the removed branches are left out of it, and
deleting nothing gives the original computation exactly.
"""

import re

import keras

from keras_resnets.blocks.layers import Highway

BLOCK_OUT = re.compile(r"(conv\d+_block\d+)_out")


def blocks(model):
    """Block names in depth order, e.g. ["conv2_block1", ..., "conv4_block9"]."""
    return [m.group(1) for layer in model.layers if (m := BLOCK_OUT.fullmatch(layer.name))]


def block_input(model, block):
    """Name of the layer whose output enters `block` (the first of its layers reads it)."""
    first = next(layer for layer in model.layers if layer.name.startswith(f"{block}_"))
    return first.input._keras_history.operation.name


def merge_layer(model, block):
    """The layer joining `block`'s skip path and branch, or None (plain block)."""
    for suffix in ("add", "out"):
        name = f"{block}_{suffix}"
        if name in _layer_names(model):
            layer = model.get_layer(name)
            if isinstance(layer, (keras.layers.Add, Highway)):
                return layer
    return None


def downsamples(model, block):
    """Whether `block`'s output has another shape than its input."""
    before = model.get_layer(block_input(model, block)).output.shape
    return model.get_layer(f"{block}_out").output.shape != before


def removable(model, downsampling=False):
    """Blocks that can be deleted: with a skip path, or shape-preserving; `downsampling`
    False leaves out the blocks that change the resolution or width."""
    return [
        b
        for b in blocks(model)
        if not downsamples(model, b) or (downsampling and merge_layer(model, b) is not None)
    ]


def retrace(model, replace):
    """The model re-traced over its own layers, each layer's output passed through
    `replace(layer, output, call_args, produced)`; `produced` maps the names of the
    layers traced so far to the tensors that stand for their outputs."""
    produced = {}

    def call(layer, *args, **kwargs):
        output = replace(layer, layer(*args, **kwargs), args, produced)
        produced[layer.name] = output
        return output

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def lesioned(model, removed):
    """`model` with the blocks `removed` deleted (see the module docstring); shares weights."""
    unknown = sorted(set(removed) - set(blocks(model)))
    if unknown:
        raise ValueError(f"{model.name} has no blocks {unknown}; its blocks: {blocks(model)}.")
    skip_to_input = {}  # plain blocks: their `_out` layer -> the layer feeding the block
    shortcut_merges = set()
    for block in removed:
        merge = merge_layer(model, block)
        if merge is not None:
            shortcut_merges.add(merge.name)
        elif downsamples(model, block):
            raise ValueError(
                f"{block} of {model.name} has no skip path and changes the shape, so it cannot "
                "be deleted; pick from studies.graph.removable(model)."
            )
        else:
            skip_to_input[f"{block}_out"] = block_input(model, block)

    def replace(layer, output, args, produced):
        if layer.name in shortcut_merges:
            return args[0][0]  # the merge's first input: shortcut (Add) or carry (Highway)
        if layer.name in skip_to_input:
            return produced[skip_to_input[layer.name]]
        return output

    return retrace(model, replace)


def _layer_names(model):
    return {layer.name for layer in model.layers}
