"""Export a trained model and prove that every artifact computes what the Keras model does.

An export folder (by default `saved_models/<run>/`) holds `model.keras`, `saved_model/`
(TensorFlow SavedModel, `serve` signature), `model.tflite` (float32 LiteRT) and
`labels.txt` (one output name per line, in output order). The training core
(`keras_resnets.training.run`) exports every task's model this way.

checks: the comparison of an artifact's outputs with the Keras model's.
artifacts: writing and checking each file; the TensorFlow subprocess for JAX/PyTorch runs.
predictor: loading an exported `.keras` or `.tflite` file with its labels for inference.
__main__: that subprocess, `python -m keras_resnets.export`.
"""

from keras_resnets.export.artifacts import (
    KERAS_FILE,
    LABELS_FILE,
    SAVED_MODEL_DIR,
    TFLITE_FILE,
    export_all,
)
from keras_resnets.export.checks import DEFAULT_TOLERANCE, ExportVerificationError, compare
from keras_resnets.export.predictor import Predictor, load_predictor
