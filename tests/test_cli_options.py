"""The training apps' options: checked before TensorFlow loads, defaults read from the
dataclasses, bad values refused (0 included), nothing written by a start that fails, quiet
start-up, pruned checkpoints, and `import keras_resnets` without Keras."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import shared_data
from keras_resnets.tasks import options as task_options
from keras_resnets.training import checkpoints, cli
from keras_resnets.training import options as run_options
from keras_resnets.training.errors import ConfigError, RunConfigError

ROOT = Path(__file__).resolve().parents[1]
APPS = {"finetune": task_options.ClassificationOptions, "detect": task_options.DetectionOptions,
        "segment": task_options.SegmentationOptions}  # fmt: skip


def load_app(name):
    spec = importlib.util.spec_from_file_location(f"app_{name}_options", ROOT / "apps" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env(**changes):
    values = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


# What each command line imports by the time it refuses its arguments, in a fresh process.
REFUSE_AND_REPORT = """
import runpy, sys
for app, *argv in [line.split() for line in sys.argv[1:]]:
    sys.argv = [app, *argv]
    try:
        runpy.run_path(app, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code
    print(app, code, sorted({m.split(".")[0] for m in sys.modules} & {"keras", "tensorflow", "torch", "jax"}))
"""


def test_bad_arguments_exit_2_before_tensorflow_is_imported():
    cases = [
        "apps/finetune.py --bogus", "apps/finetune.py --batch-size 0", "apps/finetune.py --image-size 0",
        "apps/finetune.py --lr 0", "apps/detect.py --image-size 100", "apps/detect.py --max-boxes 0",
        "apps/segment.py --head unet", "apps/segment.py --max-images 0", "apps/study.py lesion --bogus",
        "apps/benchmark.py --bogus", "apps/export.py --model resnet20 --eval-data x --calibration-images 0",
        "apps/export.py --bogus", "apps/predict.py photo.jpg --model resnet20 --top-k 0",
    ]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", REFUSE_AND_REPORT, *cases], capture_output=True, text=True,
                          env=env(), cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [f"{case.split()[0]} 2 []" for case in cases]


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "0"], "image_size must be at least 32; got 0"),
    (["--lr", "0"], "lr must be above 0"),
    (["--batch-size", "0"], "batch_size must be at least 1; got 0"),
    (["--batch-size", "-4"], "batch_size must be at least 1; got -4"),
    (["--epochs", "0", "--head-epochs", "0", "--weights", "none"], "Nothing to train"),
    (["--max-images", "0"], "max_images must be at least 1"),
    (["--dropout", "1"], "dropout must be below 1"),
    (["--seed", "-1"], "seed must be at least 0"),
])  # fmt: skip
def test_zero_and_negative_values_are_refused_with_the_flag(tmp_path, capsys, argv, message):
    finetune = load_app("finetune")
    code = finetune.main(["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "runs"), *argv])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and message in err, err
    assert not (tmp_path / "runs").exists()


def test_defaults_come_from_the_dataclasses_and_help_shows_them():
    for name, options_class in APPS.items():
        parser = load_app(name).build_parser()
        parsed = cli.parse(parser, options_class, [])
        fields = {f.name: f.default for cls in (run_options.RunConfig, options_class) for f in dataclasses.fields(cls)}
        assert parsed == {k: fields[k] for k in parsed}, name
        helps = " ".join(parser.format_help().split())
        for action in parser._actions:
            if action.nargs != 0 and action.default is not None:
                expanded = parser._get_formatter()._expand_help(action) if action.help else ""
                assert "default" in expanded, action.option_strings
        assert "(default: 32)" in helps and "(default: adamw)" in helps and "(default: 0)" in helps
        assert f"default: {options_class.default_model}" in helps
    assert "a multiple of 32; default: 512" in " ".join(load_app("detect").build_parser().format_help().split())


def test_a_misnamed_option_is_an_error():
    with pytest.raises(ConfigError, match="Unknown option.*max_image"):
        run_options.from_options(task_options.ClassificationOptions, {"max_image": 10})
    parser, _ = cli.parser("x.py", "", task_options.ClassificationOptions)
    parser.add_argument("--max-boxes", type=int)  # a detection option: not the classifier's
    with pytest.raises(TypeError, match="--max-boxes set no option"):
        cli.parse(parser, task_options.ClassificationOptions, [])


def test_one_input_side_rule_per_task():
    from keras_resnets.heads import retinanet
    from keras_resnets.training.config import resolve

    config = run_options.RunConfig(model="resnet18", weights="none")
    assert resolve(config, "x", task_options.DetectionOptions).image_size == 512
    assert resolve(config, "x", task_options.ClassificationOptions).image_size == 128
    with pytest.raises(ConfigError, match="multiple of 32 .*use 96") as caught:
        resolve(dataclasses.replace(config, image_size=100), "x", task_options.DetectionOptions)
    assert caught.value.option == "image_size"
    with pytest.raises(ConfigError, match="at least 32; got 0"):
        resolve(dataclasses.replace(config, image_size=0), "x")
    assert task_options.RETINANET_STRIDE == retinanet.SIZE_MULTIPLE


def test_keras_free_literals_match_their_owners():
    from keras_resnets.heads import segmentation as heads
    from keras_resnets.tasks import segmentation_data

    assert task_options.SEGMENTATION_HEADS == tuple(heads.HEADS)
    assert task_options.SEGMENTATION_TFDS_SETS == tuple(segmentation_data.TFDS_SETS)


def test_unwritable_output_folders_are_refused_up_front(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    finetune = load_app("finetune")
    for flag, advice in (("--output-dir", "--output-dir"), ("--export-dir", "--no-export")):
        code = finetune.main(["--data-dir", str(tmp_path), flag, str(blocker / "sub")])
        err = capsys.readouterr().err
        assert code == cli.EXIT_USAGE and "is not a folder" in err and advice in err.splitlines()[-1]
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert "not writable" in run_options.unwritable(locked / "runs")


def test_a_start_that_fails_leaves_no_run_folder(tmp_path, capsys, monkeypatch):
    """Missing weights stop the run before anything is written: the corrected command is
    not refused as a changed run."""
    import keras_resnets as kr

    def offline(url, expected_hash, **kwargs):
        raise kr.WeightsUnavailableError(f"Could not get {url}.")

    monkeypatch.setattr(kr.weights, "fetch", offline)
    finetune = load_app("finetune")
    argv = ["--data-dir", str(shared_data("flowers-mini")), "--max-images", "4", "--model", "resnet18",
            "--output-dir", str(tmp_path / "runs"), "--run-name", "r", "--no-export"]  # fmt: skip
    assert finetune.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "Could not get" in err and err.splitlines()[-1].startswith("Here: --weights PATH")
    assert not (tmp_path / "runs" / "r").exists()


def test_tensorflow_start_up_is_quiet_unless_a_log_level_is_set(tmp_path):
    command = [sys.executable, "apps/finetune.py", "--data-dir", str(tmp_path / "nowhere")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env=env(TF_CPP_MIN_LOG_LEVEL=None))  # fmt: skip
    assert done.returncode == cli.EXIT_USAGE
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and "is not a folder" in lines[0] and lines[1].startswith("Use --data-dir"), done.stderr


def test_a_finished_run_prunes_its_checkpoint(tmp_path):
    (tmp_path / "epoch-0003.weights.h5").write_bytes(b"x" * 1000)
    checkpoints.write_json(tmp_path / checkpoints.CHECKPOINT, {"epoch": 3, "weights": "epoch-0003.weights.h5"})
    checkpoints.check_config(tmp_path, {"epochs": 3})
    checkpoints.check_can_continue(tmp_path, {"epochs": 3})
    assert checkpoints.prune(tmp_path) == 1000
    assert not list(tmp_path.glob("epoch-*"))
    assert json.loads((tmp_path / checkpoints.CHECKPOINT).read_text())["weights"] is None
    with pytest.raises(RunConfigError, match="finished run") as caught:
        checkpoints.check_can_continue(tmp_path, {"epochs": 3})
    assert caught.value.option == "keep_checkpoint" and "--keep-checkpoint" in cli.ADVICE["keep_checkpoint"]


def test_a_run_made_before_an_option_existed_continues_at_its_default(tmp_path):
    from keras_resnets.training.options import IDENTITY_DEFAULTS

    checkpoints.write_json(tmp_path / checkpoints.CONFIG, {"epochs": 3})  # predates drop_path
    checkpoints.check_can_continue(tmp_path, {"epochs": 3, "drop_path": 0.0}, IDENTITY_DEFAULTS)
    with pytest.raises(RunConfigError, match=r"drop_path: 0.0 -> 0.1"):
        checkpoints.check_can_continue(tmp_path, {"epochs": 3, "drop_path": 0.1}, IDENTITY_DEFAULTS)
    # A task's options too: a segmentation run saved before aux_loss existed.
    from keras_resnets.tasks.segmentation import SegmentationTask

    task, old = SegmentationTask(data_dir="masks"), tmp_path / "old"
    old.mkdir()
    checkpoints.write_json(old / checkpoints.CONFIG, {k: v for k, v in task.options().items() if k != "aux_loss"})
    checkpoints.check_can_continue(old, task.options(), task.option_defaults())
    saved = checkpoints.read_json(old / checkpoints.CONFIG)
    assert "aux_loss" not in saved and task.with_options(saved) == task


def test_import_keras_resnets_registers_layers_without_importing_keras():
    script = (
        "import sys, keras_resnets\n"
        "assert not {'keras', 'tensorflow'} & set(sys.modules), 'imported Keras'\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('keras_resnets>ChannelPad').__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "ChannelPad"
