"""keras_resnets.fold_batchnorm: BatchNorm merged into the convolution before it, for inference.

Every block family folds what it can (a post-activation ResNet all of it; pre-activation,
dense and dual-path blocks keep the BatchNorms that do not follow a convolution), keeps
every layer name, agrees with the original within 1e-5 (relative to the output's scale),
leaves the original unchanged, folds inside nested models, and exports to a TFLite file that
agrees with it as closely.
"""

import keras
import numpy as np
import pytest
from helpers import FAMILIES, cifar_images, randomize_weights

import keras_resnets as kr
from keras_resnets.core.builder import build_model
from keras_resnets.core.folding import foldable_pairs
from keras_resnets.core.specs import Spec


def norms(model):
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]


def relative_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(a).max())


@pytest.mark.backend
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_folds_to_the_same_outputs_and_names(family):
    model = randomize_weights(build_model(Spec(f"Tiny_{family}", **FAMILIES[family]), weights=None,
                                          input_shape=(32, 32, 3), classes=10, classifier_activation=None))  # fmt: skip
    images = cifar_images(4)[0] / 255.0
    before = keras.ops.convert_to_numpy(model(images, training=False))
    folded = kr.fold_batchnorm(model)
    after = keras.ops.convert_to_numpy(folded(images, training=False))
    assert relative_diff(before, after) <= 1e-5
    assert [layer.name for layer in folded.layers] == [layer.name for layer in model.layers]
    pairs = foldable_pairs(model)
    assert len(norms(folded)) == len(norms(model)) - len(pairs)
    if family in ("basic", "bottleneck", "grouped", "se", "cbam", "highway", "weighted"):
        assert not norms(folded)  # every BatchNorm follows its convolution
    else:
        assert pairs and norms(folded)  # pre-activation: the stem's folds, the blocks' stay
    # The original is untouched: still its BatchNorms, still its outputs.
    assert len(norms(model)) == sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(images, training=False)), before)


def test_nested_backbones_fold_and_the_folded_model_exports_as_closely(tmp_path):
    from keras_resnets import export
    from keras_resnets.heads import segmentation as heads

    network = kr.create_model("resnet18", weights=None, include_top=False, input_shape=(64, 64, 3), output_stride=16)
    backbone = kr.features(network, levels=heads.head_levels("deeplabv3plus", network.pyramid_level_inputs))
    model = randomize_weights(heads.segmenter(backbone, 5, "torch", False, "deeplabv3plus"))
    folded = kr.fold_batchnorm(model)
    assert len(norms(model)) > len(norms(folded)) and not norms(folded.get_layer(backbone.name))
    images = np.round(cifar_images(4)[0].repeat(2, axis=1).repeat(2, axis=2))
    reference = model.predict(images, verbose=0)
    assert np.abs(folded.predict(images, verbose=0) - reference).max() <= 1e-5  # probabilities
    result = export.export(folded, tmp_path, formats=("tflite",), eval_data=images, timing_runs=0,
                           bounds=export.Bounds(tolerance=1e-5), tflite_metadata=False)  # fmt: skip
    assert result["passed"] and result["artifacts"][0]["check"]["max_abs_diff"] <= 1e-5
