"""One answer for each default: `keras_resnets.weights.select` says what a name implies."""

import dataclasses
import inspect

import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets import registry
from keras_resnets import weights as weights_lib
from keras_resnets.export import load_predictor, source
from keras_resnets.training import RunConfig
from keras_resnets.training import config as config_lib


def test_a_name_defaults_to_imagenet_else_its_first_tag_else_random():
    assert weights_lib.select(kr.get_spec("resnet50")).weights == "imagenet"
    assert weights_lib.select(kr.get_spec("resnet20")).weights == "cifar10"
    assert weights_lib.select(kr.get_spec("resnet18")).weights == "tv_in1k"  # its first row
    assert weights_lib.select(kr.get_spec("cbamresnet50")).weights is None
    chosen = weights_lib.select(kr.get_spec("dpn68b"), "timm_ra_in1k")
    assert (chosen.preprocessing, chosen.resolution) == ("torch", 288) != (kr.get_spec("dpn68b").preprocessing, 224)


def test_every_caller_gives_the_same_answer():
    raw = np.random.default_rng(0).uniform(0, 255, (1, 2, 2, 3)).astype("float32")
    for name, constructor in registry.ENTRYPOINTS.items():
        chosen = weights_lib.select(constructor.spec)
        assert inspect.signature(constructor).parameters["weights"].default == chosen.weights, name
        assert config_lib.default_weights(constructor.spec.registry_name) == (chosen.weights or "none"), name
        np.testing.assert_allclose(
            kr.preprocess_input(raw.copy(), constructor.spec.registry_name),
            kr.imagenet.preprocess_input(raw.copy(), mode=chosen.preprocessing),
            err_msg=name,
        )


def test_a_changed_architecture_has_no_default_weights_but_training_options_keep_them():
    spec = kr.get_spec("resnet20")
    with_dropout = dataclasses.replace(spec, dropout=0.3)
    with_attention = dataclasses.replace(spec, attention="se")
    assert weights_lib.select(with_dropout).weights == "cifar10"
    assert weights_lib.select(with_attention).weights is None
    cached = {s: weights_lib.cached_weights_path("/c/resnet20.th", s, True) for s in (spec, with_dropout, with_attention)}
    assert cached[spec] == cached[with_dropout] == "/c/resnet20.resnet20.weights.h5"
    assert cached[with_attention].startswith("/c/resnet20.resnet20-")
    # A spec made by hand is not known to be the registered one: it never shares its cache.
    by_hand = dataclasses.replace(spec, registered=None)
    assert weights_lib.select(by_hand).weights is None and cached[spec] != weights_lib.cached_weights_path(
        "/c/resnet20.th", by_hand, True
    )


def test_finetune_export_and_predict_load_the_same_weights_for_resnet20(monkeypatch):
    build = registry.create_model
    built_with = []

    def record(name, **kwargs):
        built_with.append(kwargs["weights"])
        return build(name, **{**kwargs, "weights": None})  # the file itself is not needed here

    monkeypatch.setattr(registry, "create_model", record)
    config = config_lib.resolve(RunConfig(model="resnet20", mixed_precision=False), "data")  # apps/finetune.py
    _, _, mode, _ = source.load_model("resnet20")  # apps/export.py
    predictor = load_predictor("resnet20")  # apps/predict.py
    assert [config.weights, *built_with] == ["cifar10", "cifar10", "cifar10"]
    assert (config.preprocessing, config.image_size, mode, predictor.image_size) == ("torch", 32, "torch", 32)


def test_an_unknown_name_for_predict_says_what_it_accepts():
    with pytest.raises(FileNotFoundError, match="nor a model: Unknown model 'resnet2O'"):
        load_predictor("resnet2O")


def test_apps_export_its_job_and_the_library_time_exports_alike():
    from helpers import load_app

    from keras_resnets.export import exporter, report
    from keras_resnets.tasks.export_job import ExportJob

    args = load_app("export").build_parser().parse_args(["--model", "resnet20", "--eval-data", "x.npz"])
    library = inspect.signature(exporter.export).parameters["timing_runs"].default
    assert args.timing_runs == ExportJob("resnet20", "x.npz").timing_runs == library == report.EXPORT_TIMING_RUNS
