"""`export(model, path, ...)`: every requested artifact, written, verified and reported.

Each artifact is written, reloaded in its own runtime, run on the real evaluation images
and checked against the Keras model (`checks`); its size, latency and throughput are
measured (`report`). An artifact that fails its check is deleted, and after the report is
written `ExportVerificationError` names every failure: nothing that did not pass stays
exported.

SavedModel, TFLite and ONNX need the TensorFlow backend (LiteRT export refuses JAX, and
one converter path keeps the artifacts alike). Under JAX or PyTorch the Keras model's
outputs are computed there, `model.keras` is written and checked in-process, and a
TensorFlow subprocess (`python -m keras_resnets.export`) rebuilds the model from that
file and writes and checks the rest against those outputs.
"""

import dataclasses
import hashlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from keras_resnets.core.folding import fold_batchnorm
from keras_resnets.export import artifacts, checks, dependencies, quantization, report, runners
from keras_resnets.export import metadata as metadata_lib
from keras_resnets.export import formats as formats_lib
from keras_resnets.export.formats import CALIBRATION_IMAGES, DEFAULT_FORMATS, FORMATS, RUN_FORMATS
from keras_resnets.heads.nms import POSTPROCESSING_LAYERS, final_detections
from keras_resnets.imagenet import Preprocess

log = logging.getLogger(__name__)


def preprocessing_mode(model):
    """The mode of the `Preprocess` layer `model` holds (so it takes RGB 0-255), or None."""
    for layer in model.layers:
        mode = layer.mode if isinstance(layer, Preprocess) else None
        if mode is None and isinstance(layer, keras.Model):
            mode = preprocessing_mode(layer)
        if mode is not None:
            return mode
    return None


def takes_pixels(model):
    return preprocessing_mode(model) is not None


def with_preprocessing(model, include_preprocessing):
    """`model`, taking RGB [0, 255] when asked: False leaves it as it is; True requires
    its own `Preprocess` layer; a mode ("caffe", "tf", "torch", "dpn") puts one in front."""
    if include_preprocessing is False or include_preprocessing is None:
        return model
    if takes_pixels(model):
        if include_preprocessing is True:
            return model
        raise ValueError(
            f"{model.name} already holds its preprocessing; pass include_preprocessing=True, "
            f"not {include_preprocessing!r}, or it would be applied twice."
        )
    if include_preprocessing is True:
        raise ValueError(
            f"{model.name} has no Preprocess layer, so its weights' preprocessing is unknown "
            "here: pass include_preprocessing='<mode>' (caffe, tf, torch or dpn), or build it "
            "with include_preprocessing=True."
        )
    inputs = keras.Input(model.input_shape[1:], name="image")
    outputs = model(Preprocess(include_preprocessing, name="preprocess")(inputs))
    return keras.Model(inputs, outputs, name=model.name)


def _check_fixed_size(model):
    if None in model.input_shape[1:]:
        raise ValueError(
            f"{model.name} takes inputs of shape {model.input_shape}; exports need a fixed "
            "spatial size: build it with input_shape=(height, width, 3)."
        )


def _images_and_labels(eval_data):
    images, labels = eval_data if isinstance(eval_data, (tuple, list)) else (eval_data, None)
    if images is None or len(images) == 0:
        raise ValueError(
            "export needs real example images (eval_data=images or (images, labels)) to "
            "verify every artifact against the Keras model."
        )
    return np.asarray(images, dtype=np.float32), None if labels is None else np.asarray(labels)


def _calibration_images(representative_data, images):
    """The images full int8 calibrates on: `representative_data`, else the first
    `CALIBRATION_IMAGES` evaluation images."""
    if representative_data is None:
        return images[:CALIBRATION_IMAGES]
    if len(representative_data) == 0:
        raise ValueError(
            "representative_data holds no images: full int8 calibrates its activation ranges on "
            "real images (give at least one; 300 is the default), or it silently stays float32."
        )
    return np.asarray(representative_data, dtype=np.float32)


def _overlap(calibration, images):
    """How many calibration images are also evaluation images; says so in the log when any
    are, since the int8 check is then measured partly on the calibration set."""
    def digests(batch):
        return [hashlib.sha1(np.ascontiguousarray(x).tobytes()).digest() for x in batch]

    seen = set(digests(images))
    count = sum(d in seen for d in digests(calibration))
    if count:
        log.warning(
            "Full int8 calibrates on %d images that are also among the %d evaluation images, so its "
            "agreement and accuracy are measured partly on its own calibration set; calibrate on "
            "other images (representative_data; apps/export.py: --calibration-data or --dataset) "
            "for an independent check.", count, len(images),
        )  # fmt: skip
    return count


def _imported(name, default):
    """The function a `_function_name` names, or `default` for None."""
    if name is None:
        return default
    module, _, qualname = name.partition(":")
    return getattr(importlib.import_module(module), qualname)


def _function_name(function, argument):
    """`function` as "module:qualname", so that a TensorFlow subprocess can import it."""
    if function is None:
        return None
    name = f"{function.__module__}:{function.__qualname__}"
    if "<" in name or function.__module__ == "__main__":
        raise ValueError(f"{argument}={name} must be a module-level function that can be imported.")
    return name


@dataclasses.dataclass(frozen=True)
class Request:
    """What to export and how to judge it; travels as JSON to the TensorFlow subprocess."""

    artifacts: list
    bounds: checks.Bounds
    int8_io: bool
    takes_pixels: bool
    timing_runs: int
    check: str = None  # "module:qualname" of a custom check, else `checks.check_outputs`
    metrics: str = None  # "module:qualname" of a custom task metric, else `checks.task_metrics`
    tflite_metadata: dict = None  # `_metadata_plan`: what MediaPipe metadata the TFLite files get
    float_scopes: tuple = ()  # layers full int8 keeps float32: a detector's post-processing

    def to_json(self):
        return json.dumps({**dataclasses.asdict(self), "artifacts": [dataclasses.astuple(a) for a in self.artifacts]})

    @classmethod
    def from_json(cls, text):
        fields = json.loads(text)
        fields["artifacts"] = [formats_lib.Artifact(*a) for a in fields["artifacts"]]
        fields["bounds"] = checks.Bounds(**fields["bounds"])
        return cls(**fields)


def _adapted(task):
    """The task's export adapter ({"adapt", "keras_outputs"}) for a file with metadata, or None."""
    entry = metadata_lib.TASKS[task] if task else None
    return entry if entry is not None and entry.adapt is not None else None


def verify(artifact, path, request, images, labels, reference, float_size_mb=None, task=None):
    """The report row of a written artifact (its check, accuracy, size and speed) and its
    outputs on `images`. A quantized artifact is also checked to be quantized (against its
    float32 file's size). `task`: the task whose MediaPipe metadata the file holds, whose
    outputs are then mapped back to the Keras model's."""
    run = formats_lib.load_runner(path)
    if _adapted(task):
        run = _adapted(task).keras_outputs(path, run)
    outputs = runners.run_batched(run, images)
    check_outputs = _imported(request.check, checks.check_outputs)
    check = check_outputs(outputs, reference, request.bounds, artifact.quantize, labels)
    size_mb = report.size_mb(path)
    if artifact.quantize is not None:
        types = FORMATS[artifact.format].tensor_types(path, request.float_scopes)
        quantized = quantization.check_quantized(
            types, artifact.quantize, size_mb, float_size_mb, request.bounds.max_size_ratio
        )
        check["quantization"] = quantized
        if not quantized["ok"]:
            check["ok"] = False
            check["error"] = "; ".join(e for e in (check.get("error"), quantized["error"]) if e)
    row = {
        "ok": bool(check["ok"]),
        "check": check,
        **_imported(request.metrics, checks.task_metrics)(outputs, labels),
        "size_mb": size_mb,
        **report.speed(run, images, request.timing_runs),
    }
    return row, outputs


def _float_size_mb(artifact, model, written):
    """MB of the float32 file of `artifact`'s format: the one this export wrote, else one
    written aside only to be measured."""
    float_artifact = formats_lib.Artifact(artifact.format)
    if float_artifact not in written:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / float_artifact.file
            formats_lib.write(float_artifact, model, path)
            written[float_artifact] = report.size_mb(path)
    return written[float_artifact]


def _metadata_plan(model, planned, check, class_names, tflite_metadata, model_info):
    """What MediaPipe metadata the TFLite files get: {"task", "info", "labels"}, {"skipped":
    why} where it cannot be written correctly (a graph taking preprocessed input), or None
    (off, or no TFLite file). Class names that do not match the outputs are refused here,
    before any work."""
    if not tflite_metadata or not any(a.format == "tflite" for a in planned):
        return None
    rank = len(model.output_shape) if len(model.outputs) == 1 else None
    task = "classification" if check is None and rank == 2 else "segmentation" if check is None else "detection"
    entry = metadata_lib.TASKS[task]
    if class_names is not None:
        metadata_lib.check_labels(class_names, entry.classes(model) if entry.classes else model.output_shape[-1])
    if not takes_pixels(model):
        return {"skipped": "the graph takes preprocessed input, and MediaPipe feeds RGB pixels: export with the "
                "preprocessing inside (include_preprocessing; apps/export.py --include-preprocessing)"}
    info = model_info or metadata_lib.ModelInfo(model.name)
    info = dataclasses.asdict(info) if dataclasses.is_dataclass(info) else dict(info)
    return {"task": task, "info": info, "labels": None if class_names is None else list(class_names)}


def _write_metadata(path, plan, reference):
    """Writes the planned metadata into the `.tflite` at `path`; the row's "metadata"."""
    if "skipped" in plan:
        log.warning("%s has no MediaPipe metadata: %s.", path.name, plan["skipped"])
        return {"written": False, "reason": plan["skipped"]}
    written = metadata_lib.write(path, plan["task"], metadata_lib.ModelInfo(**plan["info"]), plan["labels"], reference)
    return {"written": True, **written}


def _verify_mediapipe(artifact, path, litert, request, images, reference):
    """The row's "mediapipe": the file run through MediaPipe Tasks, checked (against the
    Keras model's `reference` and LiteRT's run of the file, `metadata.SameFile`) and timed."""
    run = metadata_lib.mediapipe_runner(path, request.tflite_metadata["task"])
    try:
        outputs = runners.run_batched(run, images)
        check = metadata_lib.TASKS[request.tflite_metadata["task"]].check(
            outputs, reference, litert, artifact.quantize, dict(run.names), request.tflite_metadata["labels"]
        )
        return {**check, **report.speed(run, images, request.timing_runs)}
    finally:
        run.close()


def export_artifacts(model, out_dir, request, images, labels, representative, reference):
    """Writes and verifies `request.artifacts` of a TensorFlow-backend model: report rows."""
    tflite_options = {
        "representative_data": representative,
        "int8_io": request.int8_io,
        "takes_pixels": request.takes_pixels,
        "float_scopes": request.float_scopes,
    }
    float_sizes = {}  # float32 artifact -> its size in MB, to judge its quantized files
    with artifacts.serving_archives():  # one SavedModel endpoint per model and input dtype
        return [
            _export_artifact(artifact, model, out_dir, request, images, labels, reference, tflite_options, float_sizes)
            for artifact in request.artifacts
        ]


def _export_artifact(artifact, model, out_dir, request, images, labels, reference, tflite_options, float_sizes):
    path = Path(out_dir) / artifact.file
    row = {"artifact": artifact.name, "file": artifact.file, "quantize": artifact.quantize}
    try:
        plan = request.tflite_metadata if artifact.format == "tflite" else None
        task = plan.get("task") if plan else None  # None: a file without metadata
        adapted = _adapted(task)
        if adapted:  # MediaPipe's outputs, which it reads as float32
            formats_lib.write(artifact, adapted.adapt(model), path, **tflite_options, float_output=True)
        else:
            formats_lib.write(artifact, model, path, **tflite_options)
        if plan:
            row["metadata"] = _write_metadata(path, plan, reference)
        if artifact.quantize is None:
            float_sizes[artifact] = report.size_mb(path)
        float_size = _float_size_mb(artifact, model, float_sizes) if artifact.quantize else None
        verified, outputs = verify(artifact, path, request, images, labels, reference, float_size, task)
        row.update(verified)
        if row.get("metadata", {}).get("written"):
            litert = metadata_lib.SameFile(row["check"], outputs)
            row["mediapipe"] = _verify_mediapipe(artifact, path, litert, request, images, reference)
            if not row["mediapipe"]["ok"]:
                row.update(ok=False, error=row["mediapipe"]["error"])
    except Exception as exc:  # a converter or runtime failure is this artifact's failure
        log.exception("Exporting %s failed", artifact.name)
        row.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    if not row["ok"]:
        if "error" not in row:
            row["error"] = row["check"].get("error", "outside its tolerance")
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return row


def _export_in_tensorflow_subprocess(keras_file, out_dir, request, images, labels, representative, reference):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arrays = {"images": images, "representative": representative}
        arrays.update({f"reference_{i}": r for i, r in enumerate(reference)})
        if labels is not None:
            arrays["labels"] = labels
        np.savez(tmp / "arrays.npz", **{k: v for k, v in arrays.items() if v is not None})
        (tmp / "request.json").write_text(request.to_json())
        command = [
            sys.executable, "-m", "keras_resnets.export", os.fspath(keras_file), os.fspath(out_dir),
            "--request", os.fspath(tmp / "request.json"), "--arrays", os.fspath(tmp / "arrays.npz"),
            "--result", os.fspath(tmp / "rows.json"),
        ]  # fmt: skip
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not (tmp / "rows.json").exists():
            raise checks.ExportVerificationError(
                f"The TensorFlow export subprocess failed (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        return json.loads((tmp / "rows.json").read_text())


def export(
    model,
    path,
    formats=DEFAULT_FORMATS,
    quantize=None,
    representative_data=None,
    include_preprocessing=False,
    eval_data=None,
    class_names=None,
    int8_io=True,
    bounds=checks.Bounds(),
    check=None,
    metrics=None,
    timing_runs=report.EXPORT_TIMING_RUNS,
    tflite_metadata=True,
    model_info=None,
):
    """Exports `model` to `path` in every format, verifies each artifact; returns the report.

    Args:
        formats: some of "keras", "saved_model", "tflite", "onnx".
        quantize: None (float32), "float16", "dynamic" (dynamic-range int8 weights) or
            "int8" (full integer), or a list of these: one TFLite file each.
        representative_data: real images (as the exported model takes them) that calibrate
            full int8; default: the first 300 evaluation images (the log and the report's
            `calibration_overlap` say how many calibration images are also evaluated).
        include_preprocessing: False: the model as it is; True: it must hold its own
            `Preprocess` layer; a mode ("caffe", "tf", "torch", "dpn"): put in front, so
            the exported model takes RGB [0, 255] (and the int8 one raw uint8 pixels).
        eval_data: real images, or (images, labels), as the exported model takes them:
            every artifact is run on them and compared with the Keras model.
        class_names: output names, written to `labels.txt`.
        int8_io: integer input and output for the full-int8 TFLite file (else float32).
        bounds: `checks.Bounds`: float tolerance, quantized agreement and accuracy drop.
        check: a module-level function replacing `checks.check_outputs` (same arguments),
            for outputs that are not scores.
        metrics: a module-level function replacing `checks.task_metrics` (outputs, labels):
            the task metrics of each row on labelled `eval_data` (a detector's mAP).
        timing_runs: calls per latency and throughput median (0: no timing).
        tflite_metadata: write MediaPipe Tasks metadata into every `.tflite` (classification
            segmentation and detection; a detector's file is written from an export adapter,
            see `mediapipe_detection`) and check each file in MediaPipe too; False: plain
            files.
        model_info: `metadata.ModelInfo` (name, description, version, license) for that
            metadata; default: the model's name.

    Raises:
        `MissingExportDependencyError` before any work when a format's package is missing;
        `ExportVerificationError` after the report when an artifact failed its check.
    """
    formats = tuple(formats)
    dependencies.require(formats, model, tflite_metadata=tflite_metadata)
    planned = formats_lib.plan(formats, quantize)
    images, labels = _images_and_labels(eval_data)
    model = with_preprocessing(model, include_preprocessing)
    _check_fixed_size(model)
    metadata_plan = _metadata_plan(model, planned, check, class_names, tflite_metadata, model_info)
    # MediaPipe takes uint8 images, as cameras give them (a resized photo has fractional
    # values): every runtime is checked, and full int8 calibrated, on whole pixel values.
    whole_pixels = bool(metadata_plan and "task" in metadata_plan)
    if whole_pixels:
        images = np.clip(np.round(images), 0, 255).astype(np.float32)
    calibrates = any(a.quantize == "int8" for a in planned)
    if calibrates:
        representative_data = _calibration_images(representative_data, images)
        if whole_pixels:
            representative_data = np.clip(np.round(representative_data), 0, 255).astype(np.float32)
    calibration_overlap = _overlap(representative_data, images) if calibrates else None
    # Formats any backend writes come first, here; the others on their backend (TensorFlow).
    here = [a for a in planned if FORMATS[a.format].backend is None]
    request = Request(
        artifacts=[a for a in planned if a not in here], bounds=bounds, int8_io=int8_io,
        takes_pixels=takes_pixels(model), timing_runs=timing_runs, check=_function_name(check, "check"),
        metrics=_function_name(metrics, "metrics"), tflite_metadata=metadata_plan,
        float_scopes=POSTPROCESSING_LAYERS if final_detections(model) is not None else (),
    )  # fmt: skip
    out_dir = Path(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    if class_names is not None:
        (out_dir / formats_lib.LABELS_FILE).write_text("".join(f"{name}\n" for name in class_names))

    reference = runners.run_batched(runners.keras_runner(model), images)
    # Timed as apps/predict.py runs a Keras model, BatchNorm folded: the fastest correct Keras
    # path is what the exported files are measured against.
    timed = runners.keras_runner(fold_batchnorm(model)) if timing_runs else None
    keras_model = {**(metrics or checks.task_metrics)(reference, labels),
                   **report.speed(timed, images, timing_runs)}  # fmt: skip
    data = (images, labels, representative_data, reference)
    rows = export_artifacts(model, out_dir, dataclasses.replace(request, artifacts=here), *data)
    if request.artifacts and keras.backend.backend() == "tensorflow":
        rows += export_artifacts(model, out_dir, request, *data)
    elif request.artifacts:
        keras_file = out_dir / FORMATS["keras"].file
        if "keras" not in formats or not keras_file.exists():
            keras_file = out_dir / ".export-source.keras"
            FORMATS["keras"].write(model, keras_file)
        try:
            rows += _export_in_tensorflow_subprocess(keras_file, out_dir, request, *data)
        finally:
            if keras_file.name.startswith("."):
                keras_file.unlink()

    result = {
        "model": model.name,
        "backend": keras.backend.backend(),
        "input": {"shape": list(model.input_shape[1:]), "takes_pixels": request.takes_pixels},
        "eval_images": len(images),
        "labels": labels is not None,
        "calibration_images": len(representative_data) if calibrates else None,
        "calibration_overlap": calibration_overlap,  # calibration images that are also evaluated
        "bounds": dataclasses.asdict(bounds),
        "timing": {
            "runs": timing_runs, "batch": report.THROUGHPUT_BATCH, "cpu_count": os.cpu_count(),
            "keras_model": "BatchNorm folded (keras_resnets.fold_batchnorm), as apps/predict.py runs it",
            # LiteRT and ONNX Runtime are given every core; TensorFlow and MediaPipe use their defaults.
            "threads": {"litert": os.cpu_count(), "onnxruntime": os.cpu_count()},
        },
        "keras_model": keras_model,
        "artifacts": rows,
        "exported": [row["file"] for row in rows if row["ok"]],
        "passed": all(row["ok"] for row in rows),
    }
    report.write(result, out_dir / formats_lib.REPORT_FILE)
    log.info("Export report for %s:\n%s", out_dir, report.table(result))
    failed = [row for row in rows if not row["ok"]]
    if failed:
        raise checks.ExportVerificationError(
            f"{len(failed)} exported artifact(s) in {out_dir} failed verification on "
            f"{len(images)} real images and were removed: "
            + "; ".join(f"{row['file']}: {row['error']} ({json.dumps(row.get('check'))})" for row in failed),
            report=result,
        )
    return result


def export_all(model, out_dir, labels, eval_data, tolerance=checks.DEFAULT_TOLERANCE, check=None, metrics=None,
               tflite_metadata=True, timing_runs=report.RUN_TIMING_RUNS):  # fmt: skip
    """`model.keras`, SavedModel and float32 TFLite, each checked on `eval_data` (real example
    inputs, or (inputs, their labels) for the report's task metric); `labels` name the
    outputs (`labels.txt`); `check`, `metrics`, `tflite_metadata` and `timing_runs` as in `export`. Returns
    {artifact: check}; raises `ExportVerificationError` if any check fails. What a training
    run exports."""
    result = export(
        model, out_dir, formats=RUN_FORMATS, eval_data=eval_data, class_names=labels,
        bounds=checks.Bounds(tolerance=tolerance), check=check, metrics=metrics, timing_runs=timing_runs,
        tflite_metadata=tflite_metadata,
    )  # fmt: skip
    return {row["artifact"]: row["check"] for row in result["artifacts"]}
