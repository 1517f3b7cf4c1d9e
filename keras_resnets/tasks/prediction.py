"""Predictions on photos for every task, read off the model's outputs (`apps/predict.py`).

    from keras_resnets.tasks import prediction
    model = prediction.load("saved_models/<run>/model.keras")      # or a SavedModel folder,
    prediction.predict(model, ["photo.jpg"], "predictions/")        # a .tflite, a name

The model is a `.keras` file, a SavedModel folder, a `.tflite` file (each run by
`export.runners`, in its own runtime; a Keras model with its BatchNorms folded into their
convolutions, `keras_resnets.fold_batchnorm`, which gave ResNet50 inference about 13% more
speed on TensorFlow here and the same outputs to float32 rounding), an export folder (its `model.keras`), or a
registered name built with `weights` (a tag, a file or "none") by
`keras_resnets.create_model`. Its outputs say the task:
- detection: a dict with `boxes` (N, K, 4) [x1, y1, x2, y2] in input pixels, `scores`
  (N, K), `classes` (N, K) and `num_detections` (N,) (rows past it are padding). The
  photo is letterboxed (`letterbox`) and the boxes mapped back to its own pixels;
  `<stem>.png` draws the detections scoring at least `min_score` over the photo, and
  `detections.json` holds every detection of every photo in COCO results format, its
  `category_id` the training data's (the export folder's `categories.json`, which
  detection runs write), else the class index.
- segmentation: one (N, S, S, C) output (logits or probabilities). The photo is
  letterboxed, the class map cropped and resized back to the photo; `<stem>.png` blends
  it over the photo with a legend, `<stem>.json` counts its pixels per class.
- classification: one (N, C) output; prints the top-k classes, as before.

Class names: the export folder's `labels.txt` beside the file, the weights row's label
set for a registered task model (`keras_resnets.labels.LABEL_SETS`), ImageNet's names
for a 1000-class classifier by name, else the class indices.
"""

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from keras_resnets.tasks import (
    CATEGORIES_FILE, DETECTION_OUTPUT_ORDER, DETECTION_OUTPUTS, drawing, images, letterbox,
)  # fmt: skip

DETECTIONS_FILE = "detections.json"
SHOWN_SCORE = 0.3  # pictures draw detections scoring at least this; the JSON holds all
SAVED_MODEL_FILE = "saved_model.pb"


@dataclasses.dataclass
class LoadedModel:
    run: Callable  # float32 RGB [0, 255] images (N, S, S, 3) -> {output name: array}
    image_size: int  # the square input's side
    labels: Optional[list]  # class names by index, or None (indices are shown)
    source: str  # what was loaded, for messages
    # True: `run` takes one photo at its own size and answers at that size (MediaPipe's
    # segmenter stretches the frame to its input as a phone app's would), so the photo is not
    # letterboxed first.
    whole_photos: bool = False

    # The training data's category id of each class index (a detection export's
    # CATEGORIES_FILE), or None: the class index is the id (torchvision's COCO detectors).
    category_ids: Optional[list] = None

    def name_of(self, index):
        index = int(index)
        return self.labels[index] if self.labels and index < len(self.labels) else str(index)

    def category_of(self, index):
        index = int(index)
        return self.category_ids[index] if self.category_ids and index < len(self.category_ids) else index


# --------------------------------------------------------------------------- loading


RUNTIMES = ("native", "mediapipe")


def load(model, weights=None, image_size=None, runtime="native"):
    """A `LoadedModel` of a file, a folder or a registered name (see the module's docstring).

    `runtime`: "native" (each file in its own runtime) or "mediapipe" (a `.tflite` through
    MediaPipe Tasks, as a phone app runs it: classification, segmentation and detection files). Raises FileNotFoundError for a path that is not
    a model, ValueError for an unknown name or a file MediaPipe cannot take.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"Unknown runtime {runtime!r}; use one of {RUNTIMES}.")
    from keras_resnets.export.formats import FORMATS, LABELS_FILE

    path = Path(model)
    if not path.exists() and len(path.parts) == 1 and not path.suffix:  # a name, like "resnet20"
        return _registered(str(model), weights, image_size)
    if weights is not None or image_size is not None:
        raise ValueError(f"--weights and --image-size apply to a registered model name, not to the file {path}.")
    if path.is_dir() and not (path / SAVED_MODEL_FILE).exists():
        path = path / FORMATS["keras"].file
    if not path.exists() or not (path.suffix in (".keras", ".tflite") or (path / SAVED_MODEL_FILE).exists()):
        raise FileNotFoundError(
            f"{model} is not a model: pass a .keras or .tflite file, a SavedModel folder, an export folder "
            "holding model.keras, or a registered name (keras_resnets.list_models(task=None))."
        )
    labels = _labels_beside(path, LABELS_FILE)
    if runtime == "mediapipe" and path.suffix != ".tflite":
        raise ValueError(f"--runtime mediapipe runs .tflite files; {path} is not one.")
    loaded = _load_file(path, labels, runtime)
    loaded.category_ids = _category_ids_beside(path, labels)
    return loaded


def _load_file(path, labels, runtime):
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        from keras_resnets.export import mediapipe_detection
        from keras_resnets.export.runners import SERVING_SIGNATURE, tflite_runner

        interpreter = Interpreter(model_path=os.fspath(path))
        side = int(interpreter.get_input_details()[0]["shape"][1])
        if runtime == "mediapipe":
            return _through_mediapipe(path, side, labels)
        names = set(interpreter.get_signature_runner(SERVING_SIGNATURE).get_output_details())
        if names == set(mediapipe_detection.OUTPUTS.values()):  # a detector written for MediaPipe
            keras_run = mediapipe_detection.keras_outputs(path, tflite_runner(path))
            return LoadedModel(lambda batch: dict(zip(DETECTION_OUTPUT_ORDER, keras_run(batch))), side, labels,
                               str(path))  # fmt: skip
        return LoadedModel(tflite_runner(path, named=True), side, labels, str(path))
    if path.is_dir():
        import tensorflow as tf

        from keras_resnets.export.runners import SERVING_SIGNATURE, saved_model_runner

        signature = tf.saved_model.load(os.fspath(path)).signatures[SERVING_SIGNATURE]
        (spec,) = signature.structured_input_signature[1].values()
        return LoadedModel(saved_model_runner(path, named=True), int(spec.shape[1]), labels, str(path))
    import keras

    import keras_resnets.core.builder  # noqa: F401  registers every custom layer our models hold
    from keras_resnets.core.folding import fold_batchnorm
    from keras_resnets.export.runners import keras_runner

    loaded = keras.saving.load_model(path, compile=False)
    return LoadedModel(keras_runner(fold_batchnorm(loaded), named=True), _side(loaded), labels, str(path))


def _through_mediapipe(path, side, labels):
    """A `.tflite` run by MediaPipe Tasks, the task read off the file (`metadata.task_of`);
    the class names are those of the file's metadata when no labels.txt is beside it. A
    segmenter gets each photo as it is, since MediaPipe resizes frames itself (see
    `LoadedModel.whole_photos`); a detector gets it letterboxed, as the README advises a
    phone app to do, and its boxes are mapped back to the photo."""
    from keras_resnets.export import metadata

    task = metadata.task_of(path)
    run = metadata.mediapipe_runner(path, task)
    loaded = LoadedModel(None, side, labels, f"{path} (MediaPipe {task})", whole_photos=task == "segmentation")

    def outputs_by_name(batch):
        outputs = run(batch)
        if loaded.labels is None and run.names:
            loaded.labels = [run.names.get(i, str(i)) for i in range(max(run.names) + 1)]
        if task == "detection":  # boxes, classes, num_detections, scores: the Keras model's, by name
            return dict(zip(DETECTION_OUTPUT_ORDER, outputs))
        return {"scores": outputs[0]} if task == "classification" else {"probabilities": outputs[0]}

    loaded.run = outputs_by_name
    return loaded


def _beside(path, name):
    """The export folder's file `name`: beside a file, or beside (or in) a SavedModel folder."""
    for folder in (path.parent, path) if path.is_dir() else (path.parent,):
        if (folder / name).exists():
            return folder / name
    return None


def _labels_beside(path, labels_file):
    found = _beside(path, labels_file)
    return found.read_text().splitlines() if found else None


def _category_ids_beside(path, labels):
    """Each class index's category id in the detector's training data (`CATEGORIES_FILE`,
    which detection runs export), or None; checked against labels.txt's names."""
    found = _beside(path, CATEGORIES_FILE)
    if found is None:
        return None
    categories = json.loads(found.read_text())
    names = [c["name"] for c in categories]
    if labels is not None and names != labels:
        raise ValueError(
            f"{found} names {len(names)} categories ({', '.join(names[:3])}, ...) and the labels.txt beside it "
            f"{len(labels)} ({', '.join(labels[:3])}, ...): they come from different exports. Export the model "
            "again, or delete the stale file."
        )
    return [c["id"] for c in categories]


def _side(model):
    side = model.input_shape[1]
    if side is None:
        raise ValueError(f"{model.name} takes images of any size; build it at a fixed size (pass --image-size).")
    return int(side)


def _registered(name, weights, image_size):
    import keras_resnets as kr
    from keras_resnets import weights as weights_lib
    from keras_resnets.export.runners import keras_runner
    from keras_resnets.labels import LABEL_SETS

    spec = kr.get_spec(name)  # ValueError naming close matches
    if getattr(spec, "task", "classification") == "classification":
        from keras_resnets import imagenet
        from keras_resnets.export.source import load_model

        built, _, mode, names = load_model(name, weights, image_size)
        run = keras_runner(kr.fold_batchnorm(built), named=True)  # classifiers by name take preprocessed images
        return LoadedModel(lambda batch: run(imagenet.preprocess_input(batch.copy(), mode=mode)),
                           _side(built), names, name)  # fmt: skip
    chosen = weights_lib.select(spec, weights_lib.DEFAULT if weights is None else weights)
    side = image_size or spec.default_size
    built = kr.create_model(name, weights=chosen.weights, input_shape=(side, side, 3))
    label_set = chosen.entry.labels if chosen.entry is not None else None
    labels = list(LABEL_SETS[label_set]) if label_set else None
    # Task models hold their preprocessing.
    return LoadedModel(keras_runner(kr.fold_batchnorm(built), named=True), side, labels, name)


# --------------------------------------------------------------------------- inputs


def image_files(paths):
    """The image files of `paths` (files, or folders of them, sorted), checked to exist."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in images.IMAGE_EXTENSIONS)
            if not inside:
                raise FileNotFoundError(
                    f"{path} holds no images (JPEG, PNG, BMP or GIF files directly in it); pass a folder of photos "
                    "or the photo files themselves."
                )
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder; pass photo files or a folder of photos.")
    return found


def task_of(outputs):
    """"detection", "segmentation" or "classification", read off one batch's outputs."""
    if set(DETECTION_OUTPUTS) <= set(outputs):
        return "detection"
    shapes = {name: np.shape(value) for name, value in outputs.items()}
    if len(outputs) == 1:
        (shape,) = shapes.values()
        if len(shape) == 4:
            return "segmentation"
        if len(shape) == 2:
            return "classification"
    raise ValueError(
        f"The model's outputs {shapes} are none of: a detector's dict {DETECTION_OUTPUTS}, a segmenter's "
        "(N, S, S, classes), a classifier's (N, classes)."
    )


# ---------------------------------------------------------------------- predicting


def detect(model, path):
    """COCO result dicts of one photo, in its own pixels, best first."""
    image, (height, width) = letterbox.load_image(path, model.image_size)
    outputs = model.run(image.numpy()[None])
    count = int(np.asarray(outputs["num_detections"]).reshape(-1)[0])
    boxes = letterbox.boxes_to_original(np.asarray(outputs["boxes"])[0, :count], height, width, model.image_size)
    scores = np.asarray(outputs["scores"], np.float64)[0, :count]
    classes = np.rint(np.asarray(outputs["classes"])[0, :count]).astype(np.int64)  # TFLite dequantizes to float
    return [
        {"file_name": Path(path).name, "category_id": model.category_of(c), "category_name": model.name_of(c),
         "bbox": [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)], "score": round(float(s), 5)}
        for (x1, y1, x2, y2), s, c in sorted(zip(boxes, scores, classes), key=lambda row: -row[1])
    ]  # fmt: skip


def segment(model, path):
    """(one photo's class map (H, W) at its own size, the class count C)."""
    if model.whole_photos:
        (scores,) = model.run(drawing.read_photo(path)[None].astype(np.float32)).values()
        return np.argmax(np.asarray(scores)[0], axis=-1), np.shape(scores)[-1]
    image, (height, width) = letterbox.load_image(path, model.image_size)
    (scores,) = model.run(image.numpy()[None]).values()
    labels = np.argmax(np.asarray(scores)[0], axis=-1)
    return letterbox.mask_to_original(labels, height, width), np.shape(scores)[-1]


def pixel_counts(mask, model, num_classes):
    counts = np.bincount(mask.ravel(), minlength=num_classes)
    return {model.name_of(i): int(n) for i, n in enumerate(counts) if n}


def _to_stderr(line):
    print(line, file=sys.stderr)


def predict(model, paths, out_dir=None, top_k=5, min_score=SHOWN_SCORE, report=print, warn=_to_stderr):
    """Runs `model` on the photos of `paths` and writes its task's files to `out_dir`
    (detection, segmentation); `report` gets one line per photo, `warn` one per unreadable
    photo. Returns (task, the number of unreadable photos). Raises FileNotFoundError for
    missing paths or empty folders, ValueError for outputs of no known task or photos of
    the same name (their files would collide)."""
    files = image_files(paths)
    readable = []
    for file in files:
        problem = images.check_image(file)
        if problem:
            warn(f"{file}: cannot read ({problem})")
        else:
            readable.append(file)
    if not readable:
        return None, len(files)
    probe = model.run(np.zeros((1, model.image_size, model.image_size, 3), np.float32))
    task = task_of(probe)
    if task == "classification":
        for file in readable:
            (scores,) = model.run(images.load_image(file, model.image_size).numpy()[None]).values()
            best = np.argsort(np.asarray(scores)[0])[::-1][:top_k]
            report(f"{file}: " + ", ".join(f"{model.name_of(i)} {float(scores[0][i]):.1%}" for i in best))
        return task, len(files) - len(readable)
    stems = {}
    for file in readable:
        if stems.setdefault(file.stem, file) != file:
            raise ValueError(f"{stems[file.stem]} and {file} would both write {file.stem}.png; "
                                    "predict them in separate runs with another --output-dir.")  # fmt: skip
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for file in readable:
        photo = drawing.read_photo(file)
        picture = out_dir / f"{file.stem}.png"
        if task == "detection":
            found = detect(model, file)
            results += found
            shown = [d for d in found if d["score"] >= min_score]
            drawing.draw_detections(photo, shown, picture)
            report(f"{file}: {len(found)} detections, {len(shown)} scoring >= {min_score} drawn in {picture}")
        else:
            mask, num_classes = segment(model, file)
            counts = pixel_counts(mask, model, num_classes)
            drawing.draw_segmentation(photo, mask, [model.name_of(i) for i in range(num_classes)], picture)
            summary = {"file_name": file.name, "width": int(mask.shape[1]), "height": int(mask.shape[0]),
                       "pixels": counts}  # fmt: skip
            (out_dir / f"{file.stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
            largest = ", ".join(f"{n} {c / mask.size:.0%}" for n, c in sorted(counts.items(), key=lambda x: -x[1])[:3])
            report(f"{file}: {largest} -> {picture}")
    if task == "detection":
        (out_dir / DETECTIONS_FILE).write_text(json.dumps(results) + "\n")
        report(f"{len(results)} detections of {len(readable)} photos in {out_dir / DETECTIONS_FILE} (COCO results)")
    return task, len(files) - len(readable)
