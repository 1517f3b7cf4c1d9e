"""Official-weight compatibility: our ResNets and keras.applications' exchange `.h5` files.

Keras loads legacy `.h5` weights by layer order unless `by_name=True`, so both the
layer names and the order in which layers are called must match keras.applications.
"""

import keras
import numpy as np
import pytest

import keras_resnets as kr
from helpers import logits, random_images, randomize_weights, save_legacy_h5, weighted_layer_names

PAIRS = [
    ("ResNet50", keras.applications.ResNet50),
    ("ResNet101", keras.applications.ResNet101),
    ("ResNet152", keras.applications.ResNet152),
    ("ResNet50V2", keras.applications.ResNet50V2),
    ("ResNet101V2", keras.applications.ResNet101V2),
    ("ResNet152V2", keras.applications.ResNet152V2),
]
SHAPE = (64, 64, 3)


# Every net, with and without its head. The full round trip (below) runs in `make test` for
# the two 50-layer nets with their heads; the others differ only in depth or head, and their
# layouts (what loading by order reads) are checked in `test_h5_layout_is_keras_applications`:
# every net with its head, the 50-layer ones without (a deeper net's headless layout is its
# layout with the head's layer left out).
CASES = [(n, fn, top) for n, fn in PAIRS for top in (True, False)]
LAYOUT_CASES = [(n, fn, top) for n, fn, top in CASES if top or "50" in n]


def case_param(name, reference_fn, include_top):
    full_in_make_test = include_top and name in ("ResNet50", "ResNet50V2")
    return pytest.param(name, reference_fn, include_top, id=f"{name}-{'top' if include_top else 'notop'}",
                        marks=() if full_in_make_test else pytest.mark.slow)  # fmt: skip


def build_pair(name, reference_fn, include_top):
    kwargs = dict(weights=None, include_top=include_top, input_shape=SHAPE, classes=7)
    if not include_top:
        kwargs.pop("classes")
    return getattr(kr, name)(**kwargs), reference_fn(**kwargs), kwargs


def weight_layout(model):
    """What a legacy `.h5` loads by: the weighted layers in order, their names and shapes."""
    return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]


@pytest.mark.parametrize(
    "name,reference_fn,include_top", LAYOUT_CASES, ids=[f"{n}-{'top' if t else 'notop'}" for n, _, t in LAYOUT_CASES]
)
def test_h5_layout_is_keras_applications(name, reference_fn, include_top):
    ours, reference, _ = build_pair(name, reference_fn, include_top)
    assert weight_layout(ours) == weight_layout(reference)


@pytest.mark.parametrize("name,reference_fn,include_top", [case_param(*case) for case in CASES])
def test_keras_h5_loads_both_ways(name, reference_fn, include_top, tmp_path):
    ours, reference, kwargs = build_pair(name, reference_fn, include_top)
    reference = randomize_weights(reference, seed=3)
    assert weighted_layer_names(ours) == weighted_layer_names(reference)

    images = random_images((2, *SHAPE))
    expected = logits(reference, images)
    path = save_legacy_h5(reference, tmp_path / "reference.h5")

    ours.load_weights(path)  # by order, as keras.applications loads its files
    np.testing.assert_allclose(logits(ours, images), expected, atol=1e-5, rtol=0)

    by_name = getattr(kr, name)(**kwargs)
    by_name.load_weights(path, by_name=True)
    np.testing.assert_allclose(logits(by_name, images), expected, atol=1e-5, rtol=0)

    # And back: a file written from our model loads by order into keras.applications.
    randomize_weights(ours, seed=4)
    back = reference_fn(**kwargs)
    back.load_weights(save_legacy_h5(ours, tmp_path / "ours.h5"))
    np.testing.assert_allclose(
        logits(back, images), logits(ours, images), atol=1e-5, rtol=0
    )


def test_order_loading_detects_a_different_layout(tmp_path):
    """The by-order check above can fail: a V1 file does not load into a V2 model."""
    reference = keras.applications.ResNet50(weights=None, input_shape=SHAPE)
    path = save_legacy_h5(reference, tmp_path / "v1.h5")
    with pytest.raises(ValueError):
        kr.ResNet50V2(weights=None, input_shape=SHAPE).load_weights(path)


def test_every_layer_name_matches_keras_applications():
    for name, reference_fn in PAIRS[:1] + PAIRS[3:4]:
        ours = getattr(kr, name)(weights=None, input_shape=SHAPE)
        reference = reference_fn(weights=None, input_shape=SHAPE)
        # Input layers are auto-named ("input_layer_N") in both.
        ours_names = [layer.name for layer in ours.layers[1:]]
        ref_names = [layer.name for layer in reference.layers[1:]]
        # keras.applications leaves the V2 strided-identity max-pools unnamed; we name them.
        unnamed = [n for n in ref_names if n.startswith("max_pooling2d")]
        assert [n for n in ours_names if n.endswith("_0_pool")] == (
            [f"conv{s}_block{b}_0_pool" for s, b in ((2, 3), (3, 4), (4, 6))] if unnamed else []
        )
        assert [n for n in ours_names if not n.endswith("_0_pool")] == [
            n for n in ref_names if n not in unnamed
        ]


def layer_configs(model):
    configs = []
    for layer in model.layers[1:]:
        config = layer.get_config()
        config.pop("name")
        configs.append((type(layer).__name__, config))
    return configs


@pytest.mark.parametrize(
    "name,reference_fn",
    [PAIRS[0], PAIRS[3], ("DenseNet121", keras.applications.DenseNet121)],
    ids=["ResNet50", "ResNet50V2", "DenseNet121"],
)
def test_same_graph_as_keras_applications(name, reference_fn):
    """Not just loadable weights: every layer is configured alike, so nothing costs more."""
    ours = getattr(kr, name)(weights=None)
    reference = reference_fn(weights=None)
    assert layer_configs(ours) == layer_configs(reference)
