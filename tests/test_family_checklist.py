"""README's "Adding a family", followed step by step for a throwaway family."""

import types

import numpy as np

from keras_resnets import imagenet, registry
from keras_resnets import weights as weights_lib
from keras_resnets.core.analysis import trainable_params

# Step 1: the family module, as a new file would read.
FAMILY_SOURCE = '''
"""Toy nets: two basic-block stages (a test's throwaway family)."""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

TOY = dict(block="basic", stem="cifar", widths=(8, 16), strides=(1, 2), stem_width=8,
           default_size=32, classes=10, preprocessing="torch", family="toy")

Toy4 = entrypoint(Spec("Toy4", depths=(1, 1), **TOY), __name__)
Toy6 = entrypoint(Spec("Toy6", depths=(2, 2), **TOY), __name__)

preprocess_input = imagenet.preprocessor("torch")
'''


def family_module():
    module = types.ModuleType("keras_resnets.toy")
    exec(compile(FAMILY_SOURCE, "keras_resnets/toy.py", "exec"), module.__dict__)
    return module


def test_a_family_made_by_the_checklist_registers_builds_and_defaults(monkeypatch):
    # Step 4 first, so the constructors read their rows: a weights row for Toy6 only.
    monkeypatch.setattr(weights_lib, "TABLE", list(weights_lib.TABLE))
    weights_lib.register(weights_lib.WeightsEntry("toy6", "mine", "file:///toy6.h5", None, classes=10, resolution=32))
    toy = family_module()
    # Step 2: the registry reads the constructors off the module.
    assert registry.entrypoints_of([toy]) == {"Toy4": toy.Toy4, "Toy6": toy.Toy6}
    assert weights_lib.select(toy.Toy6.spec).weights == "mine"  # its first row is its default
    model = toy.Toy4()  # no row: random weights by default
    assert model.output.shape == (None, 10) and model.input.shape == (None, 32, 32, 3)
    assert model.name == "toy4" and model.pyramid_level_inputs == {"P0": "conv2_block1_out", "P1": "conv3_block1_out"}
    # Toy6 has one more basic block per stage: two biased 3x3 convolutions and two BNs.
    extra = sum(2 * (9 * c * c + c + 2 * c) for c in (8, 16))
    assert trainable_params(toy.Toy6(weights=None)) == trainable_params(model) + extra
    raw = np.random.default_rng(0).uniform(0, 255, (1, 2, 2, 3)).astype("float32")
    np.testing.assert_allclose(toy.preprocess_input(raw.copy()), imagenet.preprocess_input(raw.copy(), mode="torch"))
