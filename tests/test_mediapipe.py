"""TFLite files that MediaPipe Tasks runs as they are (keras_resnets.export.metadata).

- the real CIFAR-10 ResNet20, exported float32 and int8 with metadata: MediaPipe's
  ImageClassifier runs both on real photos, returns the class names, and agrees with the
  Keras model (float: top-1 >= 99%; int8: at least LiteRT's agreement for the same file);
- the metadata holds the name, license and normalization; the report has MediaPipe's row;
- a file written without metadata still runs in LiteRT (and MediaPipe says why it refuses it);
- missing MediaPipe stops an export and the app before any work, with the install line;
- class names whose count is not the model's outputs are refused before any work;
- an unknown task is refused, the file left as it was;
- a training run's export (export_all) carries it; a model whose graph takes preprocessed
  input gets none and says why;
- a tiny RetinaNet exported by apps/export.py from its `.keras` file, float32 and int8
  (calibrated on a detection folder's training photos) with metadata: MediaPipe's
  ObjectDetector returns the Keras model's detections on real COCO photos (float: same
  classes and scores, boxes to MediaPipe's whole pixels; int8: LiteRT's detections of the same
  file, but for near ties), with the class names, and the report gives each file's mAP;
- a segmenter on real COCO photos, float32 and int8 (calibrated on training photos): MediaPipe's
  ImageSegmenter returns category masks equal to the Keras argmax (float: >= 99% of pixels;
  int8: at least LiteRT's agreement) and confidence masks within 1e-3 (float), with class names.
"""

import collections
import json
import shutil

import numpy as np
import pytest
from helpers import (
    FAMILIES, cifar_images, letterboxed_photos, load_app, place_in_keras_cache, randomize_weights, shared_data,
)

from keras_resnets import export
from keras_resnets.core.builder import build_model
from keras_resnets.core.specs import Spec
from keras_resnets.export import dependencies, metadata, quantization
from keras_resnets.export.mediapipe_detection import SAME_FILE_SHARE
from keras_resnets.heads.nms import POSTPROCESSING_LAYERS

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def tiny_model():
    spec = Spec("Tiny_basic", **FAMILIES["basic"])
    model = build_model(spec, weights=None, input_shape=(32, 32, 3), classes=10, include_preprocessing=True)
    return randomize_weights(model)


@pytest.fixture(scope="module")
def resnet20_export(tmp_path_factory):
    """The real ResNet20 exported float32 and int8 with metadata, on 200 real test photos."""
    import keras_resnets as kr
    place_in_keras_cache(shared_data("cifar10-pretrained") / "resnet20-12fca82f.th")
    model = kr.ResNet20(weights="cifar10", include_preprocessing=True)
    images, labels = cifar_images(200)
    out = tmp_path_factory.mktemp("resnet20")
    # 200 images: one flipped call is 0.5 points (test_export.py's bounds, for the same reason).
    bounds = export.Bounds(min_agreement={"float16": 0.99, "dynamic": 0.97, "int8": 0.93},
                           max_accuracy_drop={"float16": 0.5, "dynamic": 1.0, "int8": 2.0})  # fmt: skip
    info = metadata.ModelInfo("resnet20", "CIFAR-10 ResNet20", "0.1.0", "BSD-2-Clause (Yerlan Idelbayev)")
    result = export.export(
        model, out, formats=("tflite",), quantize=[None, "int8"], eval_data=(images, labels),
        representative_data=images[::2], class_names=CIFAR10, bounds=bounds, timing_runs=3, model_info=info,
    )  # fmt: skip
    return out, result, images, model.predict(images, verbose=0)


def test_mediapipe_runs_float32_and_int8_with_names_and_agrees(resnet20_export):
    out, result, images, reference = resnet20_export
    rows = {row["artifact"]: row for row in result["artifacts"]}
    assert result["passed"] and set(rows) == {"tflite", "tflite_int8"}
    for name, row in rows.items():
        assert row["metadata"] == {"written": True, "task": "classification", "labels": 10, "output": "probabilities"}
        mediapipe = row["mediapipe"]
        assert mediapipe["ok"] and mediapipe["names"] and mediapipe["latency_ms"] > 0
        assert mediapipe["top1_agreement"] >= (0.99 if name == "tflite" else row["check"]["top1_agreement"])
    # Through the library runner, as apps/predict.py --runtime mediapipe calls it.
    run = metadata.mediapipe_runner(out / "model_int8.tflite", "classification")
    try:
        (scores,) = run(images[:20])
    finally:
        run.close()
    assert scores.shape == (20, 10) and run.names == dict(enumerate(CIFAR10))
    # The same file, the same engine underneath: LiteRT's scores, to one uint8 output step.
    (litert,) = export.formats.load_runner(out / "model_int8.tflite")(images[:20])
    assert np.abs(scores - litert).max() <= 1 / 256 + 1e-6
    assert "MediaPipe agreement" in export.report.table(result)
    saved = json.loads((out / export.REPORT_FILE).read_text())
    assert saved["artifacts"][0]["mediapipe"]["top1_agreement"] == rows["tflite"]["mediapipe"]["top1_agreement"]
    print("\nMediaPipe on 200 CIFAR-10 test photos:", {n: (r["mediapipe"]["top1_agreement"], r["check"]["top1_agreement"],
          round(r["mediapipe"]["latency_ms"], 2), round(r["latency_ms"], 2)) for n, r in rows.items()})  # fmt: skip


def test_metadata_says_name_license_normalization_and_labels(resnet20_export):
    out = resnet20_export[0]
    for file in ("model.tflite", "model_int8.tflite"):
        content = json.loads(metadata.read(out / file))
        assert content["name"] == "resnet20" and content["license"].startswith("BSD-2-Clause")
        (graph,) = content["subgraph_metadata"]
        (image,) = graph["input_tensor_metadata"]
        (norm,) = image["process_units"]
        assert norm["options"] == {"mean": [0.0], "std": [1.0]}
        (scores,) = graph["output_tensor_metadata"]
        assert scores["name"] == "probabilities" and scores["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"


def test_a_file_without_metadata_still_runs_in_litert(tmp_path):
    images, labels = cifar_images(8)
    result = export.export(tiny_model(), tmp_path, formats=("tflite",), eval_data=(images, labels), timing_runs=0,
                           tflite_metadata=False)  # fmt: skip
    (row,) = result["artifacts"]
    assert result["passed"] and "metadata" not in row and "mediapipe" not in row
    assert metadata.read(tmp_path / "model.tflite") is None
    (scores,) = export.formats.load_runner(tmp_path / "model.tflite")(images)
    assert scores.shape == (8, 10)
    with pytest.raises(Exception, match="NormalizationOptions"):  # why the metadata is there
        metadata.mediapipe_runner(tmp_path / "model.tflite")


def test_missing_mediapipe_stops_export_and_app_before_any_work(monkeypatch, tmp_path, capsys):
    real = dependencies.importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None if name == "mediapipe" else real(name))
    with pytest.raises(dependencies.MissingExportDependencyError, match=r"pip install mediapipe==1\.2\.2"):
        export.export(tiny_model(), tmp_path / "out", formats=("tflite",), eval_data=cifar_images(4), timing_runs=0)
    assert not (tmp_path / "out").exists()
    export.require(("tflite",), tflite_metadata=False)  # without metadata, LiteRT is enough
    app = load_app("export")
    monkeypatch.setattr(export.source, "load_model", lambda *args: pytest.fail("built the model first"))
    code = app.main(["--model", "resnet20", "--formats", "tflite", "--eval-data", "nowhere.npz"])
    err = capsys.readouterr().err
    assert code == app.EXIT_USAGE and "pip install mediapipe==1.2.2" in err and "--no-tflite-metadata" in err


def test_a_detector_is_checked_on_a_detection_folder_or_refused_saying_so(tmp_path):
    from keras_resnets.tasks.export_job import ExportJob

    tiny_detector().save(tmp_path / "model.keras")
    job = ExportJob(str(tmp_path / "model.keras"), str(shared_data("flowers-mini")), output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="is a detector: --eval-data must be a detection folder"):
        job.run()
    assert not (tmp_path / "model.tflite").exists()


def test_class_names_that_do_not_match_the_outputs_are_refused_first(tmp_path):
    with pytest.raises(metadata.MetadataError, match="3 class names for a model with 10 outputs: give one name per"):
        export.export(tiny_model(), tmp_path / "out", formats=("tflite",), eval_data=cifar_images(4),
                      class_names=["a", "b", "c"], timing_runs=0)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_an_unknown_task_is_refused_and_the_file_left_as_it_was(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"not read")
    with pytest.raises(metadata.MetadataError, match=r"Unknown task 'pose'; known: \['classification', 'detection', "):
        metadata.write(path, "pose", metadata.ModelInfo("m"))
    assert path.read_bytes() == b"not read"


def test_a_training_runs_export_carries_metadata_and_preprocessed_inputs_say_why_not(tmp_path):
    import keras

    images = cifar_images(4)[0]
    export.export_all(tiny_model(), tmp_path / "run", CIFAR10, images)  # what apps/finetune.py exports
    assert '"TENSOR_AXIS_LABELS"' in metadata.read(tmp_path / "run" / "model.tflite")
    inputs = keras.Input((32, 32, 3))  # no Preprocess layer: the graph takes preprocessed input
    per_pixel = keras.layers.Conv2D(3, 1, activation="softmax")(inputs)
    result = export.export(keras.Model(inputs, per_pixel), tmp_path / "seg", formats=("tflite",),
                           eval_data=images, timing_runs=0)  # fmt: skip
    (row,) = result["artifacts"]
    assert result["passed"] and row["metadata"]["written"] is False and "preprocessing inside" in row["metadata"]["reason"]
    assert metadata.read(tmp_path / "seg" / "model.tflite") is None


def test_mediapipe_segments_real_photos_as_keras_does_float32_and_int8(tmp_path):
    """Through apps/export.py's job, from a segmenter's .keras file and the segmentation folder:
    checks on its test split, int8 calibrated on its train split."""
    import keras_resnets as kr
    from keras_resnets.heads import segmentation as heads
    from keras_resnets.tasks import segmentation_data
    from keras_resnets.tasks.export_job import ExportJob

    mini = shared_data("segmentation-mini")
    network = kr.create_model("resnet18", weights=None, include_top=False, input_shape=(64, 64, 3), output_stride=16)
    backbone = kr.features(network, levels=heads.head_levels("deeplabv3plus", network.pyramid_level_inputs))
    model = randomize_weights(heads.segmenter(backbone, 133, "torch", False, "deeplabv3plus"))
    model.save(tmp_path / "segmenter.keras")
    job = ExportJob(str(tmp_path / "segmenter.keras"), str(mini), formats=("tflite",), quantize=("none", "int8"),
                    eval_images=12, calibration_images=16, min_agreement=50, max_accuracy_drop=100, timing_runs=1,
                    output_dir=str(tmp_path / "out"))  # fmt: skip
    result = job.run()
    assert result["calibration_images"] == 16 and result["calibration_overlap"] == 0  # the train split
    source = segmentation_data.load_folder(mini)
    images, _ = segmentation_data.take(source.splits["test"], 64, 2)
    out = tmp_path / "out"
    rows = {row["artifact"]: row for row in result["artifacts"]}
    assert result["passed"] and set(rows) == {"tflite", "tflite_int8"}, export.report.table(result)
    for name, row in rows.items():
        assert row["metadata"] == {"written": True, "task": "segmentation", "labels": 133, "output": "probabilities"}
        mediapipe = row["mediapipe"]
        assert mediapipe["ok"] and mediapipe["names"] and mediapipe["latency_ms"] > 0
        least = 0.99 if name == "tflite" else row["check"]["top1_agreement"]
        assert mediapipe["pixel_agreement"] >= least
    assert rows["tflite"]["mediapipe"]["max_abs_diff"] <= 1e-3
    # The task metric of each file on the labelled photos, beside the Keras model's.
    assert rows["tflite"]["mean_iou"] == result["keras_model"]["mean_iou"] and "mean_iou" in rows["tflite_int8"]
    assert "| mIoU % |" in export.report.table(result)
    run = metadata.mediapipe_runner(out / "model.tflite", "segmentation")
    try:
        confidence, category = run(images)
    finally:
        run.close()
    assert confidence.shape == (2, 64, 64, 133) and category.shape == (2, 64, 64)
    assert run.names == dict(enumerate(source.class_names))
    content = json.loads(metadata.read(out / "model_int8.tflite"))
    (graph,) = content["subgraph_metadata"]
    assert graph["custom_metadata"][0]["name"] == "SEGMENTER_METADATA"
    assert graph["output_tensor_metadata"][0]["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    # apps/predict.py --runtime mediapipe: each photo as a phone gives it, at its own size.
    photos = sorted((shared_data("segmentation-mini") / "images").glob("*.jpg"))[:2]
    predict = load_app("predict")
    assert predict.main([*map(str, photos), "--model", str(out / "model.tflite"), "--runtime", "mediapipe",
                         "--output-dir", str(tmp_path / "drawn")]) == 0  # fmt: skip
    for photo in photos:
        from PIL import Image

        counts = json.loads((tmp_path / "drawn" / f"{photo.stem}.json").read_text())
        assert sum(counts["pixels"].values()) == np.prod(Image.open(photo).size)
        assert set(counts["pixels"]) <= set(source.class_names)
        assert (tmp_path / "drawn" / f"{photo.stem}.png").stat().st_size > 10000
    print("\nMediaPipe on 12 COCO photos:", {n: (r["mediapipe"]["pixel_agreement"], r["check"]["top1_agreement"],
          round(r["mediapipe"]["latency_ms"], 2), round(r["latency_ms"], 2)) for n, r in rows.items()})  # fmt: skip


def test_predict_runtime_mediapipe_names_the_classes_litert_finds(resnet20_export, tmp_path, capsys):
    """The file alone (no labels.txt beside it): the names come from its metadata."""
    from PIL import Image

    out, _, images, _ = resnet20_export
    shutil.copy(out / "model_int8.tflite", tmp_path / "phone.tflite")
    photos = []
    for i in range(3):
        photos.append(tmp_path / f"photo{i}.png")
        Image.fromarray(images[i].astype("uint8")).save(photos[i])
    predict = load_app("predict")
    args = [*map(str, photos), "--model", str(tmp_path / "phone.tflite"), "--top-k", "1"]
    assert predict.main(args + ["--runtime", "mediapipe"]) == 0
    through_mediapipe = capsys.readouterr().out.splitlines()
    assert predict.main(args) == 0
    through_litert = capsys.readouterr().out.splitlines()
    best = lambda line: line.split(": ", 1)[1].rsplit(" ", 1)[0]  # noqa: E731 ("<photo>: <class> <share>")
    # LiteRT knows no names without labels.txt: it prints the index MediaPipe must name.
    assert [best(line) for line in through_mediapipe] == [CIFAR10[int(best(line))] for line in through_litert]


DETECTION_SIZE = 64  # the smallest RetinaNet input


DETECTIONS = 25  # per image: MediaPipe's form unrolls the NMS loop, one copy per detection


def tiny_detector():
    """A tiny RetinaNet, random weights, class biases at 0: probabilities near .5, so many
    detections above the .05 threshold, up to the cap of `DETECTIONS` per image, with near ties."""
    import keras_resnets as kr
    from keras_resnets.heads import retinanet

    backbone = kr.features("resnet18", weights=None, input_shape=(DETECTION_SIZE, DETECTION_SIZE, 3))
    head = retinanet.retinanet(backbone, 3, "torch", False, filters=16, depth=1)
    head.get_layer("class_output").bias.assign(np.zeros(27, "float32"))
    return retinanet.with_decoding(head, max_detections=DETECTIONS)


def test_export_app_writes_detector_files_that_mediapipe_runs_float32_and_int8(tmp_path):
    images, names = letterboxed_photos(6, DETECTION_SIZE), ["person", "bicycle", "car"]
    (tmp_path / "run").mkdir()
    tiny_detector().save(tmp_path / "run" / "model.keras")
    (tmp_path / "run" / "labels.txt").write_text("".join(f"{name}\n" for name in names))  # as apps/detect.py does
    args = [
        "--model", str(tmp_path / "run" / "model.keras"), "--eval-data", str(shared_data("detection-mini")),
        "--formats", "tflite", "--quantize", "none", "int8", "--eval-images", "6", "--calibration-images", "12",
        # Random weights: int8 reorders their near-tied scores against float; what must hold is
        # that MediaPipe runs each file as LiteRT does, and that the report measures it.
        "--min-agreement", "0", "--timing-runs", "0", "--output-dir", str(tmp_path / "export"),
    ]  # fmt: skip
    assert load_app("export").main(args) == 0
    out = tmp_path / "export"
    result = json.loads((out / "export_report.json").read_text())
    rows = {row["artifact"]: row for row in result["artifacts"]}
    assert result["passed"] and set(rows) == {"tflite", "tflite_int8"}
    assert result["calibration_overlap"] == 0  # the train split calibrates, the test split checks
    for row in rows.values():
        assert row["metadata"] == {"written": True, "task": "detection", "labels": 3, "nms": "in the graph"}
        assert row["mediapipe"]["ok"] and row["mediapipe"]["names"] and row["map50"] is not None
    row = rows["tflite"]
    assert row["check"]["detections_matched"] == 1.0  # LiteRT, mapped back to the Keras outputs
    assert row["map"] == result["keras_model"]["map"] and row["map50"] == result["keras_model"]["map50"]
    mediapipe = row["mediapipe"]
    assert mediapipe["detections_matched"] == 1.0 and mediapipe["detections_compared"] > 3 * DETECTIONS
    int8 = rows["tflite_int8"]["mediapipe"]
    assert int8["same_file_matched"] >= SAME_FILE_SHARE and int8["same_file_compared"] > 3 * DETECTIONS
    # Its decoding and NMS stayed float32 (quantization.kept_float; the converter still
    # ranks candidates on int8 copies of some scores: 2,785 float32 and 323 int8 tensors
    # there in the README's detector), the rest is integer.
    every, rest = (quantization.tflite_tensor_types(out / "model_int8.tflite", scopes).activations
                   for scopes in ((), POSTPROCESSING_LAYERS))  # fmt: skip
    kept = {dtype: every[dtype] - rest.get(dtype, 0) for dtype in every}
    assert kept["float32"] > 2 * kept.get("int8", 0) and kept["float32"] > 100
    assert rows["tflite_int8"]["check"]["quantization"]["integer_activation_share"] > 0.5
    (table_row,) = [line for line in export.report.table(result).splitlines() if line.startswith("| model.tflite")]
    assert table_row.split("|")[-3].strip() == "100.00%"  # the MediaPipe agreement column: detections found again
    content = json.loads(metadata.read(out / "model.tflite"))
    assert content["min_parser_version"] == "1.2.0"  # bounding boxes: 1.0.0; the output tensor group: 1.2.0
    (graph,) = content["subgraph_metadata"]
    assert {t["name"] for t in graph["output_tensor_metadata"]} == {"location", "category", "score",
                                                                     "number of detections"}  # fmt: skip
    # The same file through the library runner, as apps/predict.py --runtime mediapipe calls it.
    run = metadata.mediapipe_runner(out / "model.tflite", "detection")
    try:
        boxes, classes, counts, scores = run(images[:2])
    finally:
        run.close()
    assert boxes.shape == (2, DETECTIONS, 4) and set(run.names.values()) <= set(names) and counts.min() > 0
    # apps/predict.py --runtime mediapipe draws what MediaPipe finds: LiteRT's detections, by name.
    predict = load_app("predict")
    photos = sorted((shared_data("detection-mini") / "images").glob("*.jpg"))[:2]
    found = {}
    for runtime in ("native", "mediapipe"):
        args = [*map(str, photos), "--model", str(out / "model.tflite"), "--output-dir", str(out / runtime)]
        assert predict.main(args + ["--runtime", runtime]) == 0
        found[runtime] = json.loads((out / runtime / "detections.json").read_text())
        assert all((out / runtime / f"{photo.stem}.png").exists() for photo in photos)
    # Not all of them: predict letterboxes to fractional pixels, which MediaPipe rounds, and
    # this random detector's scores are near ties at the cap per photo.
    pairs = {r: collections.Counter((d["file_name"], d["category_name"]) for d in found[r]) for r in found}
    shared = sum((pairs["mediapipe"] & pairs["native"]).values())
    assert found["native"] and shared >= 0.9 * len(found["native"]) and len(found["mediapipe"]) == len(found["native"])
    print("\nMediaPipe ObjectDetector on 6 COCO photos:", {k: mediapipe[k] for k in ("detections_matched",
          "detections_compared", "box_min_iou", "box_median_iou")}, "int8:", {k: int8[k] for k in (
          "same_file_matched", "same_file_compared")})  # fmt: skip
