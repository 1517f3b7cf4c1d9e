"""Specs that say no: each block kind and stem reads a declared set of options, the rest fail."""

import dataclasses

import keras
import pytest

import keras_resnets as kr
from keras_resnets import registry
from keras_resnets.blocks import pyramid
from keras_resnets.core import options
from keras_resnets.core.specs import Spec

TINY = dict(depths=(1, 1), widths=(8, 16), strides=(1, 2), stem_width=8)
# The fields each block kind needs for a two-stage network, beyond TINY.
KIND_FIELDS = {
    "basic": {},
    "bottleneck": {},
    "dense": dict(growth_rates=(4, 4)),
    "dual_path": dict(growth_rates=(4, 4), groups=2, base_width=4),
}


class RecordingSpec:
    """A spec that notes every field the block functions read."""

    def __init__(self, spec):
        self.spec, self.read = spec, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self.spec, name)


def fields_read(spec):
    recording = RecordingSpec(spec)
    x = options.STEMS[spec.stem].build(keras.Input((32, 32, 3)), recording)
    options.BLOCKS[spec.block].build(x, recording, pyramid.Taps(recording))
    return recording.read & {f.name for f in dataclasses.fields(Spec)}


def test_densenet_refuses_the_residual_options_by_name():
    with pytest.raises(ValueError) as refused:
        kr.create_model("densenet121", weights=None, attention="se", dropout=0.5, shortcut="highway")
    message = str(refused.value)
    assert "'attention', 'dropout', 'shortcut'" in message and "senet" in message and "resnet" in message
    with pytest.raises(ValueError, match="'compression'.*densenet"):
        kr.create_model("resnet18", weights=None, compression=0.3)


def test_a_spec_refuses_its_own_unread_fields_and_unknown_values():
    with pytest.raises(ValueError, match="'dense' blocks .* do not read attention='se'"):
        Spec("X", depths=(1,), block="dense", attention="se")
    with pytest.raises(ValueError, match="groups=32"):  # torchvision's BasicBlock refuses it too
        Spec("X", depths=(1,), block="basic", groups=32)
    with pytest.raises(ValueError, match="Unknown shortcut 'higway'; use one of"):
        Spec("X", depths=(1,), shortcut="higway")
    with pytest.raises(ValueError, match="stem_kernel=5"):  # the deep stem has only 3x3s
        dataclasses.replace(kr.get_spec("resnet50d"), stem_kernel=5)


def test_options_are_those_of_the_block_kind_asked_for():
    with pytest.raises(ValueError, match="resnet18 \\('basic' blocks.*'stride_conv'"):  # no 1x1 to move it from
        kr.create_model("resnet18", weights=None, stride_conv="3x3")
    model = kr.create_model(
        "resnet20", weights=None, block="bottleneck", stride_conv="3x3", groups=2, input_shape=(32, 32, 3)
    )
    assert model.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert model.get_layer("conv3_block1_2_conv").groups == 2


@pytest.mark.parametrize("block", sorted(options.BLOCKS))
@pytest.mark.parametrize("stem", sorted(options.STEMS))
def test_declared_options_are_the_ones_the_blocks_read(block, stem):
    spec = Spec("T", block=block, stem=stem, **TINY, **KIND_FIELDS[block])
    read = fields_read(spec)
    assert read <= options.reads(block, stem), f"read but not declared: {read - options.reads(block, stem)}"
    declared = options.BLOCKS[block].options | options.STEMS[stem].options
    assert declared <= read, f"declared but never read: {declared - read}"


def test_every_family_names_the_options_it_reads():
    assert registry.families_reading("growth_rates") == ["densenet", "dpn"]
    assert "densenet" not in registry.families_reading("attention")
