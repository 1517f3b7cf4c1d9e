"""The task-agnostic training core: `run(task, config)` trains, evaluates and exports.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.classification import ClassificationTask

    metrics = run(ClassificationTask(data_dir="photos"), RunConfig(model="resnet18", epochs=3))

The task (`keras_resnets.tasks`) brings data, model head, loss, metrics and evaluation;
everything else is here:

options: `RunConfig`, the rules its values obey and `from_options`; imports nothing heavy,
  so that a command line refuses bad options before TensorFlow loads.
config: `resolve`, which fills the model- and weights-dependent defaults.
cli: the command line the training apps share.
loop: `run` itself: the run folder, phases, evaluation, metrics.json, export.
recipe: the phases (head, then fine-tuning; or from scratch), optimizer and schedule.
freezing: finding the backbone in a task's model and freezing all but its top stages.
distribute: data parallel (JAX DataParallel, TensorFlow MirroredStrategy) and the chief.
precision: the dtype policy (mixed_bfloat16 on CPUs, mixed_float16 on GPUs).
checkpoints: per-epoch checkpoints that survive SIGKILL, and resuming.
progress: Keras' bar on a terminal, one line per epoch in logs; the images/s rate.
tensorboard_events: the run's TensorBoard event files (per step, per epoch, pictures).
plots: the training curves (and matplotlib for the tasks' plots).
errors: why a run cannot start, naming the option at fault.

The names below load on first use (PEP 562): `from keras_resnets.training import RunConfig`
imports no Keras.

Logging goes to the `keras_resnets.training` and `keras_resnets.tasks` loggers; set them to
INFO to see what a run is doing beyond its progress lines.
"""

import importlib

# Public name -> the module that defines it.
_API = {
    "RunConfig": "keras_resnets.training.options",
    "from_options": "keras_resnets.training.options",
    "resolve": "keras_resnets.training.config",
    "run": "keras_resnets.training.loop",
    "ConfigError": "keras_resnets.training.errors",
    "DataError": "keras_resnets.training.errors",
    "OptionError": "keras_resnets.training.errors",
    "RunConfigError": "keras_resnets.training.errors",
}


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'keras_resnets.training' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_API})
