"""Which `Spec` fields each block kind and stem reads, and the check that refuses the rest.

Every network reads `COMMON`; each block kind adds the options its module declares
(`keras_resnets.blocks.residual`, `dense`, `dual_path`), and each stem its own
(`keras_resnets.blocks.stems`). A field outside that set would be silently ignored, so a
spec must leave it at its default (`check`, run by `Spec` itself), and `create_model`
refuses it by name (`reads`). Fields with a fixed set of values are checked against it
(`CHOICES`), so a typo such as `shortcut="higway"` fails here, not as a plain network.
"""

import dataclasses

from keras_resnets.core.modes import PREPROCESSING_MODES
from keras_resnets.blocks import attention, dense, dual_path, residual, stems

# Read for every network: by the builder (stages, head, pyramid), every stem, or the
# registry and weights (names, defaults, preprocessing).
COMMON = frozenset({
    "name", "depths", "widths", "block", "strides", "output_stride", "stem", "stem_width",
    "preact", "use_bias", "bn_epsilon", "classes", "default_size", "preprocessing", "family",
    "paper",
})  # fmt: skip
BLOCK_OPTIONS = {
    "basic": residual.BASIC_OPTIONS,
    "bottleneck": residual.BOTTLENECK_OPTIONS,
    "dense": dense.OPTIONS,
    "dual_path": dual_path.OPTIONS,
}
STEM_OPTIONS = {
    "imagenet": stems.IMAGENET_OPTIONS,
    "deep": frozenset(),
    "cifar": frozenset(),
    "densenet": stems.IMAGENET_OPTIONS,
}
CHOICES = {
    "block": tuple(BLOCK_OPTIONS),
    "stem": tuple(STEM_OPTIONS),
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
    return COMMON | BLOCK_OPTIONS[block] | STEM_OPTIONS[stem]


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
