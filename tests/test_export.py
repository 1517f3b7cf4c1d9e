"""keras_resnets.export and apps/export.py on tiny models and real images.

- a small model of every block family, exported to every format and checked in each runtime;
- the real CIFAR-10 ResNet20 quantized three ways, within its agreement and accuracy bounds;
- a failed artifact is removed, reported and raised; the app exits 3;
- a JAX model exports through the TensorFlow subprocess, with its preprocessing baked in;
- a missing package stops a training run before any step, and the app before any work;
- a new format is one record; export/ imports nothing from tasks/ or training/;
- a quantized file that is not quantized fails; int8 says when it calibrates on evaluated images;
- the app refuses bad values and paths before any work, and its --help shows the defaults.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import FAMILIES, TESTS, cifar_images, load_app, place_in_keras_cache, randomize_weights, shared_data

from keras_resnets import export, training
from keras_resnets.core.builder import build_model
from keras_resnets.core.specs import Spec
from keras_resnets.export import dependencies
from keras_resnets.tasks.export_job import ExportJob

ALL_FORMATS = ("keras", "saved_model", "tflite", "onnx")


def tiny_model(family, seed=0):
    spec = Spec(f"Tiny_{family}", **FAMILIES[family])
    model = build_model(spec, weights=None, input_shape=(32, 32, 3), classes=10, include_preprocessing=True)
    return randomize_weights(model, seed)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_block_family_exports_to_every_format(family, tmp_path):
    images, labels = cifar_images(8)
    result = export.export(tiny_model(family), tmp_path, formats=ALL_FORMATS, eval_data=(images, labels), timing_runs=1)
    assert result["passed"] and result["exported"] == [export.FORMATS[f].file for f in ALL_FORMATS]
    for row in result["artifacts"]:
        assert row["check"]["max_abs_diff"] <= export.DEFAULT_TOLERANCE and row["check"]["images"] == 8
        assert row["size_mb"] > 0 and row["latency_ms"] > 0 and row["images_per_s"] > 0
    # The Keras model is timed BatchNorm-folded, as apps/predict.py runs it.
    assert result["keras_model"]["latency_ms"] > 0 and "folded" in result["timing"]["keras_model"]
    assert json.loads((tmp_path / export.REPORT_FILE).read_text())["exported"] == result["exported"]
    if family == "grouped":  # tf2onnx cannot convert these; the PyTorch backend's route keeps them grouped
        import onnx

        graph = onnx.load(tmp_path / "model.onnx").graph
        groups = [a.i for node in graph.node if node.op_type == "Conv" for a in node.attribute if a.name == "group"]
        assert max(groups) == 4 and graph.input[0].name == "images"


def test_real_resnet20_quantized_within_bounds_and_int8_takes_pixels(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    import keras_resnets as kr
    place_in_keras_cache(shared_data("cifar10-pretrained") / "resnet20-12fca82f.th")
    model = kr.ResNet20(weights="cifar10", include_preprocessing=True)
    images, labels = cifar_images(200)
    # 200 images: one flipped call is 0.5 points, so the bounds are looser than the defaults
    # (benchmarks/export_accuracy.py holds ResNet56 to them on all 10,000 images).
    bounds = export.Bounds(
        min_agreement={"float16": 0.99, "dynamic": 0.97, "int8": 0.93},
        max_accuracy_drop={"float16": 0.5, "dynamic": 1.0, "int8": 2.0},
    )
    result = export.export(
        model, tmp_path, formats=("tflite",), quantize=["float16", "dynamic", "int8"],
        eval_data=(images, labels), representative_data=images[::2], bounds=bounds, timing_runs=3,
    )  # fmt: skip
    rows = {row["artifact"]: row for row in result["artifacts"]}
    assert set(rows) == {"tflite_float16", "tflite_dynamic", "tflite_int8"} and result["passed"]
    assert abs(rows["tflite_float16"]["accuracy"] - result["keras_model"]["accuracy"]) <= 0.5
    assert rows["tflite_int8"]["check"]["accuracy_drop"] <= 2.0
    assert rows["tflite_int8"]["size_mb"] < rows["tflite_float16"]["size_mb"] * 0.6
    details = Interpreter(model_path=str(tmp_path / "model_int8.tflite")).get_input_details()[0]
    assert details["dtype"] == np.uint8 and tuple(details["quantization"]) == (0.0, 0)  # raw pixels


def test_failed_artifact_is_removed_reported_and_raised(tmp_path):
    images, labels = cifar_images(8)
    impossible = export.Bounds(min_agreement={"int8": 1.01}, max_accuracy_drop={"int8": 1.0})
    with pytest.raises(export.ExportVerificationError, match="model_int8.tflite: top-1 agreement") as failure:
        export.export(
            tiny_model("basic"), tmp_path, formats=("tflite",), quantize=[None, "int8"],
            eval_data=(images, labels), bounds=impossible, timing_runs=0,
        )  # fmt: skip
    report = json.loads((tmp_path / export.REPORT_FILE).read_text())
    assert report["exported"] == ["model.tflite"] and not report["passed"]
    assert failure.value.report["artifacts"][1]["ok"] is False
    assert (tmp_path / "model.tflite").exists() and not (tmp_path / "model_int8.tflite").exists()


def test_grouped_onnx_needs_pytorch_and_says_so_first(monkeypatch, tmp_path):
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name == "torch" else object())
    with pytest.raises(dependencies.MissingExportDependencyError, match="pip install torch"):
        export.export(tiny_model("grouped"), tmp_path, formats=("onnx",), eval_data=cifar_images(4), timing_runs=0)
    assert not any(tmp_path.iterdir())


def test_jax_model_exports_through_tensorflow_with_preprocessing_baked_in(tmp_path):
    shared_data("cifar10-test")
    script = f"""
import numpy as np, sys
sys.path.insert(0, {str(TESTS)!r})
from helpers import cifar_images, FAMILIES, randomize_weights
from keras_resnets import export
from keras_resnets.core.builder import build_model
from keras_resnets.core.specs import Spec
model = randomize_weights(build_model(Spec("T", **FAMILIES["se"]), weights=None, input_shape=(32, 32, 3), classes=10))
images, labels = cifar_images(8)
result = export.export(model, {str(tmp_path)!r}, formats=("keras", "saved_model", "tflite", "onnx"),
                       include_preprocessing="torch", eval_data=(images, labels), timing_runs=1)
print(result["backend"], result["input"]["takes_pixels"], result["exported"])
"""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "jax True ['model.keras', 'saved_model', 'model.tflite', 'model.onnx']" in done.stdout


def test_missing_package_stops_a_run_before_any_training_step(tmp_path, monkeypatch):
    from keras_resnets.tasks.classification import ClassificationTask
    from keras_resnets.training import loop

    def find_spec(name):
        return None if name == "ai_edge_litert" else real_find_spec(name)

    def never(*args, **kwargs):
        raise AssertionError("the run loaded data or trained before checking the export packages")

    real_find_spec = dependencies.importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(loop, "train", never)
    monkeypatch.setattr(ClassificationTask, "load_data", never)
    task = ClassificationTask(data_dir=shared_data("flowers-mini"))
    config = training.RunConfig(model="resnet20", weights=None, epochs=1, output_dir=tmp_path, progress="none")
    with pytest.raises(training.ConfigError, match=r"pip install ai-edge-litert") as failure:
        training.run(task, config)
    assert failure.value.option == "export"


def test_app_exits_before_any_work_when_a_package_is_missing(monkeypatch, capsys):
    app = load_app("export")
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else object())
    monkeypatch.setattr(export.source, "load_model", lambda *args: pytest.fail("built the model first"))
    code = app.main(["--model", "resnet20", "--formats", "onnx", "--eval-data", "nowhere.npz"])
    assert code == app.EXIT_USAGE and "pip install onnxruntime" in capsys.readouterr().err


def test_a_new_format_is_one_record(tmp_path, monkeypatch):
    """A format added as one `FORMATS` entry is planned, required, written, run and checked."""
    from keras_resnets.export import formats, runners

    def write(model, path):
        model.save(tmp_path / "m.keras")
        shutil.move(tmp_path / "m.keras", path)

    def run(path):
        return runners.keras_file_runner(shutil.copy(path, tmp_path / "copy.keras"))

    monkeypatch.setitem(formats.FORMATS, "copy", formats.Format("copy", "model.copy", write, run, backend=None))
    result = export.export(tiny_model("basic"), tmp_path / "out", formats=("copy",), eval_data=cifar_images(4), timing_runs=0)
    assert result["exported"] == ["model.copy"] and result["artifacts"][0]["check"]["max_abs_diff"] == 0
    needy = formats.Format("needy", "model.needy", write, run, packages=("no_such_package",))
    monkeypatch.setitem(formats.FORMATS, "needy", needy)
    with pytest.raises(dependencies.MissingExportDependencyError, match="pip install no_such_package"):
        export.require(["needy"])


def test_export_imports_nothing_from_tasks_or_training():
    import ast

    for path in (TESTS.parent / "keras_resnets" / "export").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):  # module level and inside functions
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.startswith(("keras_resnets.tasks", "keras_resnets.training")) for n in names), path


def test_a_float_file_named_int8_fails_its_quantization_check(tmp_path, monkeypatch):
    from keras_resnets.export import artifacts, formats

    def never_quantizes(model, path, **options):
        artifacts.write_tflite(model, path)  # what the converter does without calibration images

    tflite = dataclasses.replace(formats.FORMATS["tflite"], write=never_quantizes)
    monkeypatch.setitem(formats.FORMATS, "tflite", tflite)
    with pytest.raises(export.ExportVerificationError, match="model_int8.tflite: not int8-quantized: only 0% of its weight"):
        export.export(tiny_model("basic"), tmp_path, formats=("tflite",), quantize="int8", eval_data=cifar_images(4), timing_runs=0)
    assert not (tmp_path / "model_int8.tflite").exists()


def test_int8_says_when_it_calibrates_on_the_evaluation_images(tmp_path, caplog):
    lenient = export.Bounds(min_agreement={"int8": 0.0}, max_accuracy_drop={"int8": 100.0})
    result = export.export(
        tiny_model("basic"), tmp_path, formats=("tflite",), quantize="int8", eval_data=cifar_images(8),
        bounds=lenient, timing_runs=0,
    )  # fmt: skip
    quantized = result["artifacts"][0]["check"]["quantization"]
    assert result["passed"] and quantized["weight_share"] == 1.0 and quantized["size_ratio"] < 0.9
    assert result["calibration_overlap"] == 8 and "also among the 8 evaluation images" in caplog.text
    with pytest.raises(ValueError, match="representative_data holds no images"):
        export.export(tiny_model("basic"), tmp_path / "none", formats=("tflite",), quantize="int8",
                      eval_data=cifar_images(4), representative_data=np.zeros((0, 32, 32, 3)))  # fmt: skip
    assert not (tmp_path / "none").exists()


APP_ARGS = ["--model", "resnet20", "--formats", "tflite", "--quantize", "int8", "--eval-data", __file__]


@pytest.mark.parametrize(
    "bad",
    [("--calibration-images", "0"), ("--eval-images", "0"), ("--image-size", "0"), ("--min-agreement", "0"),
     ("--min-agreement", "101"), ("--max-accuracy-drop", "-1"), ("--timing-runs", "-1"), ("--tolerance", "-0.1")],
)  # fmt: skip
def test_app_refuses_bad_values_before_any_work(bad, monkeypatch, capsys):
    app = load_app("export")
    monkeypatch.setattr(export.source, "load_model", lambda *args: pytest.fail("built the model first"))
    if bad == ("--min-agreement", "0"):  # 0 is a value, not "unset": it reaches the bounds
        job = ExportJob(**vars(app.build_parser().parse_args([*APP_ARGS, *bad])))
        assert job.bounds().min_agreement["int8"] == 0
        return
    with pytest.raises(SystemExit) as exit_:
        app.main([*APP_ARGS, *bad])
    assert exit_.value.code == app.EXIT_USAGE and f"argument {bad[0]}: {bad[1]} is out of range" in capsys.readouterr().err


def test_app_refuses_an_unwritable_output_folder_and_missing_data_before_any_work(tmp_path, monkeypatch, capsys):
    app = load_app("export")
    monkeypatch.setattr(export.source, "load_model", lambda *args: pytest.fail("built the model first"))
    (tmp_path / "file").write_text("")
    for args, says in [
        (["--output-dir", str(tmp_path / "file" / "out")], "file is not a folder"),
        (["--output-dir", "/proc/out"], "/proc is not writable"),
        (["--calibration-data", str(tmp_path / "nowhere")], "--calibration-data " + str(tmp_path / "nowhere") + " does not exist"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as exit_:
            app.main([*APP_ARGS, *args])
        assert exit_.value.code == app.EXIT_USAGE and says in capsys.readouterr().err


def test_app_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        load_app("export").main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ["(default: saved_model tflite onnx)", "(default: none)", "(default: 300)", "(default: 0.001)", "(default: 20)"]:
        assert default in shown


def test_export_job_exports_a_registered_model_from_real_images_on_disk(keras_home, tmp_path):
    """What apps/export.py runs (and a notebook can): the real ResNet20 by name, its weights
    from the cache, images read from the CIFAR-10 test .npz, the preprocessing baked in."""
    place_in_keras_cache(shared_data("cifar10-pretrained") / "resnet20-12fca82f.th")
    npz = shared_data("cifar10-test") / "cifar10_test_yoongikim_jpeg.npz"
    job = ExportJob("resnet20", str(npz), weights="cifar10", include_preprocessing=True, formats=("tflite",),
                           eval_images=16, output_dir=str(tmp_path / "out"), timing_runs=0)  # fmt: skip
    assert job.problems() == []
    result = job.run()
    (row,) = result["artifacts"]
    assert result["passed"] and row["check"]["max_abs_diff"] <= export.DEFAULT_TOLERANCE
    assert row["metadata"]["written"] and row["metadata"]["labels"] == 10  # the names the .npz holds
    assert result["keras_model"]["accuracy"] >= 0.75  # ResNet20 reaches 91.7% on the whole test set
    assert (tmp_path / "out" / export.REPORT_FILE).exists()
