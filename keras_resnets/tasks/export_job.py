"""`ExportJob`: an export from a registered name or a `.keras` file and real images on disk,
as `apps/export.py` runs it and a notebook can:

    from keras_resnets.tasks.export_job import ExportJob

    job = ExportJob("resnet56", "cifar10_test.npz", weights="cifar10", quantize=("none", "int8"))
    job.problems()  # [] or what is wrong with the paths, before any work
    result = job.run()  # the report (also in <output_dir>/export_report.json)

`run` builds or loads the model (`source.load_model`), reads the evaluation and calibration
images at its input size, preprocesses them when the graphs take preprocessed input, and
calls `keras_resnets.export.export`. It lives here, above `export`, because it reads images
with the tasks' loaders (`sample_images`); `export` itself reads no data files. Bad input
raises ValueError (or FileNotFoundError/OSError from the data) saying what to change; a failed artifact raises `ExportVerificationError` with the report.

Only light modules are imported here: the fields are read and checked before Keras and
TensorFlow (about 10 s) are imported, so a typo costs nothing.
"""

import dataclasses
from pathlib import Path
from typing import Optional, Sequence

from keras_resnets.export.checks import DEFAULT_TOLERANCE, Bounds
from keras_resnets.export.formats import CALIBRATION_IMAGES, DEFAULT_FORMATS, QUANTIZATIONS
from keras_resnets.export.report import EXPORT_TIMING_RUNS
from keras_resnets.training.options import EXPORT_ROOT, unwritable


@dataclasses.dataclass
class ExportJob:
    """The fields are apps/export.py's options (`--eval-data` is `eval_data`, and so on).

    model: a name of `list_models()` (built with `weights`, at `image_size`) or a `.keras` file.
    quantize: "none" (float32) and the TFLite quantizations to write.
    min_agreement: quantized files' least top-1 agreement in % (None: `Bounds`' defaults);
    max_accuracy_drop: their most points of accuracy lost (None: the defaults).
    eval_split: the split of a segmentation or detection folder the checks run on ("train"
        is also where full int8 calibrates: the report's `calibration_overlap` says so).
    calibration_data / dataset: where full int8 calibrates (default: the evaluation images).
    output_dir: default saved_models/<model name>.
    """

    model: str
    eval_data: str
    weights: Optional[str] = None
    image_size: Optional[int] = None
    preprocessing: Optional[str] = None
    include_preprocessing: bool = False
    formats: Sequence[str] = DEFAULT_FORMATS
    quantize: Sequence[str] = ("none",)
    float_io: bool = False
    tflite_metadata: bool = True
    eval_images: Optional[int] = None
    eval_split: str = "test"
    calibration_data: Optional[str] = None
    dataset: Optional[str] = None
    calibration_images: int = CALIBRATION_IMAGES
    output_dir: Optional[str] = None
    tolerance: float = DEFAULT_TOLERANCE
    min_agreement: Optional[float] = None
    max_accuracy_drop: Optional[float] = None
    timing_runs: int = EXPORT_TIMING_RUNS

    def problems(self):
        """What is wrong with the paths, checked before any work: the data must exist, and
        the output folder must be writable or makeable where its nearest existing parent is,
        so that an export never fails at its first write."""
        problems = [
            f"--{option.replace('_', '-')} {path} does not exist"
            for option, path in (("eval_data", self.eval_data), ("calibration_data", self.calibration_data))
            if path is not None and not Path(path).exists()
        ]
        output = self.output_dir or EXPORT_ROOT
        problem = unwritable(output)
        if problem:
            problems.append(f"--output-dir {output} cannot be written: {problem}; choose another folder")
        return problems

    def bounds(self):
        defaults = Bounds()
        agreement = {q: self.min_agreement / 100 for q in QUANTIZATIONS} if self.min_agreement is not None else None
        drop = {q: self.max_accuracy_drop for q in QUANTIZATIONS} if self.max_accuracy_drop is not None else None
        return dataclasses.replace(
            defaults, tolerance=self.tolerance,
            min_agreement=agreement or defaults.min_agreement, max_accuracy_drop=drop or defaults.max_accuracy_drop,
        )  # fmt: skip

    def model_info(self, name):
        """What the TFLite metadata says of the model: for a registered name, its weights
        row's source and license."""
        import keras_resnets as kr
        from keras_resnets import weights as weights_lib
        from keras_resnets.export.metadata import ModelInfo

        description, license = f"{name} (keras_resnets {kr.__version__}).", ""
        if not str(self.model).endswith(".keras"):
            row = weights_lib.select(kr.get_spec(self.model), self.weights or weights_lib.DEFAULT).entry
            if row is not None:  # None: random weights, or a file
                description += f" Weights {row.tag!r} from {row.source}."
                license = row.license
        return ModelInfo(name=name, description=description, version=kr.__version__, license=license)

    def run(self):
        """Builds or loads the model, reads the images and exports; returns the report."""
        from keras_resnets import imagenet
        from keras_resnets.export import exporter, source
        from keras_resnets.heads.nms import final_detections
        from keras_resnets.tasks import sample_images as data

        model, name, mode, class_names = source.load_model(self.model, self.weights, self.image_size, self.preprocessing)
        side = int(model.input_shape[1])
        detections = final_detections(model)
        if detections is not None and not data.is_detection_folder(self.eval_data):
            raise ValueError(
                f"{self.model} is a detector: --eval-data must be a detection folder (images/ with annotations.json "
                "or YOLO labels/, as ../shared/data/detection-mini), whose test split checks its detections and "
                "whose train split calibrates int8."
            )
        images, labels, data_names = data.load_images(self.eval_data, side, self.eval_images, split=self.eval_split)
        if self.calibration_data or data.has_splits(self.eval_data):  # a task folder calibrates on its train split
            calibration = data.load_images(self.calibration_data or self.eval_data, side, self.calibration_images,
                                           split="train")[0]  # fmt: skip
        elif self.dataset:
            calibration = data.load_dataset_images(self.dataset, side, self.calibration_images)
        else:
            calibration = images[data.spread(len(images), self.calibration_images)]
        takes_pixels = exporter.takes_pixels(model)
        if not (self.include_preprocessing or takes_pixels) and mode is None:
            raise ValueError(f"{self.model} holds no Preprocess layer: pass --preprocessing MODE.")
        if not (self.include_preprocessing or takes_pixels):  # the graphs take preprocessed images: so must the checks
            images, calibration = (imagenet.preprocess_input(x.copy(), mode) for x in (images, calibration))
        include = (True if takes_pixels else mode) if self.include_preprocessing else False
        classes = model.output_shape[-1] if detections is None else detections.class_count
        if class_names is None and data_names and len(data_names) == classes:
            class_names = data_names
        check = metrics = None  # a classifier's or segmenter's scores: `export`'s own check and metrics
        if detections is not None:
            from keras_resnets.tasks import detection_report

            check, metrics = detection_report.export_check, detection_report.export_metrics
        return exporter.export(
            model, self.output_dir or Path(EXPORT_ROOT) / name, formats=self.formats,
            quantize=[None if q == "none" else q for q in self.quantize], representative_data=calibration,
            include_preprocessing=include, eval_data=(images, labels), class_names=class_names,
            int8_io=not self.float_io, bounds=self.bounds(), check=check, metrics=metrics, timing_runs=self.timing_runs,
            tflite_metadata=self.tflite_metadata, model_info=self.model_info(name),
        )  # fmt: skip
