"""The task-agnostic training core: `run(task, config)` trains, evaluates and exports.

    from keras_resnets.training import RunConfig, run
    from keras_resnets.tasks.classification import ClassificationTask

    metrics = run(ClassificationTask(data_dir="photos"), RunConfig(model="resnet18", epochs=3))

The task (`keras_resnets.tasks`) brings data, model head, loss, metrics and evaluation;
everything else is here:

config: `RunConfig` and `resolve`, which fills the model- and weights-dependent defaults.
loop: `run` itself: the run folder, phases, evaluation, metrics.json, export.
recipe: the phases (head, then fine-tuning; or from scratch), optimizer and schedule.
freezing: finding the backbone in a task's model and freezing all but its top stages.
precision: the dtype policy (mixed_bfloat16 on CPUs, mixed_float16 on GPUs).
checkpoints: per-epoch checkpoints that survive SIGKILL, and resuming.
progress: Keras' bar on a terminal, one line per epoch in logs; the images/s rate.
plots: the training curves (and matplotlib for the tasks' plots).
errors: why a run cannot start, naming the option at fault.

Logging goes to the `keras_resnets.training` and `keras_resnets.tasks` loggers; set them to
INFO to see what a run is doing beyond its progress lines.
"""

from keras_resnets.training.checkpoints import RunConfigError
from keras_resnets.training.config import RunConfig, from_options, resolve
from keras_resnets.training.errors import ConfigError, DataError, OptionError
from keras_resnets.training.loop import run
