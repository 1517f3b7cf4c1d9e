"""The block kinds and stems: the function that lays each out, the `Spec` fields it reads, and
the check that refuses the rest.

`BLOCKS` (by `spec.block`) and `STEMS` (by `spec.stem`) are the builder's one table of what it
can build. Every network reads `COMMON`; each block kind adds the options its module declares
(`keras_resnets.blocks.residual`, `dense`, `dual_path`), and each stem its own
(`keras_resnets.blocks.stems`). A field outside that set would be silently ignored, so a
spec must leave it at its default (`check`, run by `Spec` itself), and `create_model`
refuses it by name (`reads`). Fields with a fixed set of values are checked against it
(`CHOICES`), so a typo such as `shortcut="higway"` fails here, not as a plain network.
"""

import dataclasses
from typing import Callable, NamedTuple

from keras_resnets.core.modes import PREPROCESSING_MODES
from keras_resnets.blocks import attention, dense, dual_path, residual, stems

# Read for every network: by the builder (stages, head, pyramid), every stem, or the
# registry and weights (names, defaults, preprocessing).
COMMON = frozenset({
    "name", "depths", "widths", "block", "strides", "output_stride", "stem", "stem_width",
    "preact", "use_bias", "bn_epsilon", "classes", "default_size", "preprocessing", "family",
    "paper",
})  # fmt: skip


class Kind(NamedTuple):
    """How one block kind or stem is laid out, and the `Spec` fields beyond `COMMON` it reads."""

    build: Callable
    options: frozenset


# A stage function is (x, spec, taps) -> the last feature map, a stem (x, spec) -> its output.
BLOCKS = {
    "basic": Kind(residual.residual_stages, residual.BASIC_OPTIONS),
    "bottleneck": Kind(residual.residual_stages, residual.BOTTLENECK_OPTIONS),
    "dense": Kind(dense.dense_stages, dense.OPTIONS),
    "dual_path": Kind(dual_path.dual_path_stages, dual_path.OPTIONS),
}
STEMS = {
    "imagenet": Kind(stems.imagenet_stem, stems.IMAGENET_OPTIONS),
    "deep": Kind(stems.deep_stem, frozenset()),
    "cifar": Kind(stems.cifar_stem, frozenset()),
    "densenet": Kind(stems.densenet_stem, stems.IMAGENET_OPTIONS),
}
CHOICES = {
    "block": tuple(BLOCKS),
    "stem": tuple(STEMS),
    "attention": attention.KINDS,
    "shortcut": residual.SHORTCUTS,
    "stride_block": residual.STRIDE_BLOCKS,
    "stride_conv": residual.STRIDE_CONVS,
    "preprocessing": PREPROCESSING_MODES,
}


def reads(block, stem):
    """The fields that a spec of `block` kind and `stem` reads."""
    for option, value in (("block", block), ("stem", stem)):
        _check_choice(option, value, CHOICES[option])
    return COMMON | BLOCKS[block].options | STEMS[stem].options


def check(spec):
    """Raises ValueError for a value outside its choices, or a field the spec's block kind
    and stem do not read that differs from its default."""
    for option, allowed in CHOICES.items():
        _check_choice(option, getattr(spec, option), allowed, spec.name)
    read = reads(spec.block, spec.stem)
    unread = [
        f"{f.name}={getattr(spec, f.name)!r}"
        for f in dataclasses.fields(spec)
        if f.compare and f.name not in read and getattr(spec, f.name) != f.default
    ]
    if unread:
        raise ValueError(
            f"{spec.name}: {spec.block!r} blocks with the {spec.stem!r} stem do not read "
            f"{', '.join(unread)}; leave {'it' if len(unread) == 1 else 'them'} at the default."
        )


def _check_choice(option, value, allowed, name=None):
    if value not in allowed:
        where = f"{name}: " if name else ""
        raise ValueError(f"{where}Unknown {option} {value!r}; use one of {', '.join(map(repr, allowed))}.")
