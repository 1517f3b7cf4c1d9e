"""apps/benchmark.py measures each configuration in its own process (no timing asserted)."""

import importlib.util
import json

import pytest

from helpers import load_app

benchmark = load_app("benchmark")


def test_the_machine_peak_and_one_tiny_configuration_end_to_end(tmp_path):
    """In `make test`, so that the measurement cannot rot: each row in its own process and the
    machine's peak, one fresh process per installed framework."""
    args = ["--models", "resnet18", "--batch-sizes", "2", "--image-size", "32", "--warmup", "0"]
    args += ["--repeats", "1", "--modes", "infer", "train", "--backends", "tensorflow", "--matmul-size", "256"]
    assert benchmark.main(args + ["--output-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    rows = results["rows"]
    assert [(r["model"], r["implementation"], r["mode"]) for r in rows] == [
        ("resnet18", "ours", "infer"), ("resnet18", "ours", "train")
    ]
    # One peak for the machine: the best matmul of every installed framework, each measured.
    peak = results["machine_peak"]["cpu"]["float32"]
    rates = {name: value for name, value in peak["frameworks"].items() if isinstance(value, float)}
    assert {"numpy", "tensorflow"} <= set(rates) and peak["measured_flops"] == max(rates.values())
    assert peak["measured_by"] in rates and peak["theoretical"]
    for row in rows:
        assert row["images_per_s"] > 0 and "matmul_peak_flops" not in row
        assert row["fraction_of_peak"] == row["flops"] / peak["measured_flops"]
        assert row["macs_per_image"] == 37_523_456  # ResNet18 at 32 px, counted on the built model
    assert (tmp_path / "results.png").stat().st_size > 0
    table = (tmp_path / "results.md").read_text()
    assert "| resnet18 | ours | tensorflow | train |" in table and "Machine peak, cpu float32:" in table


def test_peer_ratios_compare_the_same_network():
    rows = [
        {"model": "resnet50b", "implementation": imp, "backend": backend, "mode": "infer",
         "batch_size": 8, "image_size": 64, "precision": "float32", "images_per_s": rate,
         "macs_per_image": 100 if imp == "ours" else None, "device": "cpu"}
        for imp, backend, rate in [("ours", "tensorflow", 30.0), ("ours", "jax", 20.0), ("timm", "tensorflow", 15.0)]
    ]  # fmt: skip
    rows = benchmark.benchmark.report.add_derived(rows, {"cpu": {"float32": {"measured_flops": 1e4}}})
    timm = rows[2]
    assert timm["ours_over_peer"] == 2.0 and timm["ours_backend"] == "tensorflow"
    assert timm["flops"] == 2 * 100 * 15.0  # MACs from our model of the same network
    assert [r["fraction_of_peak"] for r in rows] == [0.6, 0.4, 0.3]  # all against the one peak


def test_folded_batchnorm_is_ours_for_inference_only_and_counts_when_faster():
    configs = benchmark.benchmark.grid(["resnet50b"], ["ours", "ours_folded", "timm"], modes=("infer", "train"))
    assert [(c.implementation, c.mode) for c in configs] == [
        ("ours", "infer"), ("ours", "train"), ("ours_folded", "infer"), ("timm", "infer"), ("timm", "train"),
    ]  # fmt: skip
    rows = [
        {"model": "resnet50b", "implementation": imp, "backend": "tensorflow", "mode": "infer", "batch_size": 8,
         "image_size": 64, "precision": "float32", "images_per_s": rate, "device": "cpu"}
        for imp, rate in [("ours", 30.0), ("ours_folded", 36.0), ("timm", 30.0)]
    ]  # fmt: skip
    timm = benchmark.benchmark.report.add_derived(rows, {})[2]
    assert timm["ours_over_peer"] == 1.2 and timm["ours_backend"] == "tensorflow folded"


def test_theoretical_peak_is_derived_from_the_cpu_and_named_as_such():
    from keras_resnets.benchmark import peak

    flops, how = peak.theoretical("cpu", "float32")
    assert flops is None or (flops > 1e9 and "FMA" in how and "logical CPUs" in how)
    assert peak.theoretical("gpu", "bfloat16", "NVIDIA H200") == (989e12, "NVIDIA datasheet, H200, dense bfloat16")
    assert peak.theoretical("gpu", "float32", "NVIDIA H100 PCIe")[0] == 51e12  # not the SXM part's figure
    assert peak.theoretical("gpu", "float32", "Some GPU")[0] is None


def test_append_replaces_only_the_same_configuration():
    base = {"model": "resnet18", "implementation": "ours", "backend": "tensorflow", "batch_size": 2,
            "image_size": 32, "precision": "float32"}  # fmt: skip
    old = [dict(base, mode="infer", images_per_s=1.0), dict(base, mode="train", images_per_s=2.0)]
    new = [dict(base, mode="train", images_per_s=3.0), dict(base, mode="train", backend="jax", images_per_s=4.0)]
    merged = benchmark.benchmark.merge(old, new)
    assert [(r["mode"], r["backend"], r["images_per_s"]) for r in merged] == [
        ("infer", "tensorflow", 1.0), ("train", "tensorflow", 3.0), ("train", "jax", 4.0)
    ]


def test_rounds_keep_the_median_round():
    from keras_resnets.benchmark import runner

    rows = [{"batch_size": 8, "images_per_s": r, "build_s": r} for r in (4.0, 8.0, 5.0)]
    row = runner._median_row(rows + [{"error": "RuntimeError: x"}])
    assert (row["images_per_s"], row["build_s"], row["ms_per_batch"]) == (5.0, 5.0, 1600.0)
    assert row["round_images_per_s"] == [4.0, 8.0, 5.0]


def test_unknown_model_fails_before_measuring(tmp_path):
    with pytest.raises(ValueError, match="Unknown model"):
        benchmark.main(["--models", "resnet19", "--output-dir", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="needs torchvision")
def test_a_plain_pytorch_peer_runs_without_tensorflow():
    """Its worker imports keras_resnets under Keras' torch backend: torchvision imported after
    TensorFlow would crash it."""
    config = benchmark.benchmark.Config("resnet18", "torchvision", image_size=32, batch_size=2, warmup=0, repeats=1)
    [row] = benchmark.benchmark.run([config], echo=lambda line: None)
    assert "error" not in row, row.get("error")
    assert row["images_per_s"] > 0 and row["device"] in ("cpu", "gpu")


def test_task_models_are_measured_for_inference_only(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--models", "resnet18", "deeplabv3_resnet50", "--modes", "train", "--output-dir", str(tmp_path)])
    assert "deeplabv3_resnet50 (segmentation): task models are measured for inference only" in capsys.readouterr().err
