"""apps/benchmark.py measures and appends one JSON line per model (no timing asserted)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))
import benchmark  # noqa: E402


def test_benchmark_appends_a_result_per_model(tmp_path):
    out = tmp_path / "bench.jsonl"
    args = ["--model", "resnet18", "--batch-size", "2", "--image-size", "32", "--repeats", "1"]
    benchmark.main(args + ["--train", "--output", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1
    assert rows[0]["model"] == "resnet18" and rows[0]["params"] == 11_699_112
    assert rows[0]["infer_images_per_s"] > 0 and rows[0]["train_images_per_s"] > 0
    assert rows[0]["backend"] == benchmark.keras.backend.backend()


def test_unknown_model_fails_before_measuring(tmp_path):
    with pytest.raises(ValueError, match="Unknown model"):
        benchmark.main(["--model", "resnet19", "--output", str(tmp_path / "x.jsonl")])
    assert not (tmp_path / "x.jsonl").exists()
