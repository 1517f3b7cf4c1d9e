"""An exported model ready to classify: `.keras` or `.tflite`, with its `labels.txt`."""

import dataclasses
import os
from pathlib import Path
from typing import Callable

import numpy as np

from keras_resnets.export.formats import FORMATS, LABELS_FILE, load_runner


@dataclasses.dataclass(frozen=True)
class Predictor:
    predict: Callable  # float32 RGB [0, 255] images (N, side, side, 3) -> outputs (N, labels)
    image_size: int  # input side in pixels
    labels: list  # output names, in order

    def top_k(self, image, k):
        """[(label, probability)] of the `k` best outputs for one image."""
        scores = np.asarray(self.predict(image[None]))[0]
        return [(self.labels[i], float(scores[i])) for i in np.argsort(scores)[::-1][:k]]


def load_predictor(path):
    """A `Predictor` for a `.keras` or `.tflite` file, an export folder (its `.keras`), or a
    registered model name, built with its default weights (`export.source.load_model`, the
    same answer as the export and training apps') and its weights' preprocessing."""
    path = Path(path)
    if not path.exists() and len(path.parts) == 1 and not path.suffix:  # a name, like "resnet20"
        return _registered(str(path))
    if path.is_dir():
        path = path / FORMATS["keras"].file
    if not path.exists() or path.suffix not in (".keras", ".tflite"):
        raise FileNotFoundError(f"{path} is not an existing .keras or .tflite file.")
    labels_file = path.parent / LABELS_FILE
    if not labels_file.exists():
        raise FileNotFoundError(f"{labels_file} is missing; it names the outputs in order.")
    labels = labels_file.read_text().splitlines()
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        side = int(Interpreter(model_path=os.fspath(path)).get_input_details()[0]["shape"][1])
        run = load_runner(path)
        return Predictor(lambda images: run(images)[0], side, labels)
    import keras

    model = keras.saving.load_model(path, compile=False)
    return Predictor(lambda images: model.predict(images, verbose=0), int(model.input_shape[1]), labels)


def _registered(name):
    import keras_resnets as kr
    from keras_resnets import imagenet
    from keras_resnets.export.source import load_model

    try:
        kr.get_spec(name)
    except ValueError as exc:
        raise FileNotFoundError(f"{name} is not an existing .keras or .tflite file, nor a model: {exc}") from None
    model, _, mode, names = load_model(name)

    def predict(images):
        return model.predict(imagenet.preprocess_input(images.copy(), mode=mode), verbose=0)

    return Predictor(predict, int(model.input_shape[1]), names or [str(i) for i in range(model.output_shape[-1])])
