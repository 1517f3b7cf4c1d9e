"""`run(task, config)`: one training run from options to a checked export, for any task.

The run folder `<output_dir>/<run_name>/` holds the checkpoints (see `checkpoints`),
`curves.png`, the task's plots, `metrics.json` and, unless `tensorboard` is off, TensorBoard
event files (`tensorboard_events`); the export goes to `export_dir`.
Calling `run` again with the same options (or `resume=True`) continues after the last
completed epoch, optimizer state and schedule position included. The folder is written only
once the run really starts (options checked, weights found, data loaded, model built), and
when the run has finished and its export passed, the last checkpoint is deleted unless
`keep_checkpoint` (the export holds the trained weights).
"""

import concurrent.futures
import dataclasses
import logging
import time

import keras
import numpy as np

from keras_resnets import export
from keras_resnets.core import analysis
from keras_resnets.training import (
    checkpoints, distribute, input_speed, plots, precision, progress, recipe, tensorboard_events,
)
from keras_resnets.training.config import resolve
from keras_resnets.training.options import IDENTITY, IDENTITY_DEFAULTS, check_writable
from keras_resnets.training.errors import ConfigError

log = logging.getLogger(__name__)


def run(task, config):
    """Trains, evaluates and exports `task` as `config` says; returns the metrics.

    The metrics are also written to the run folder's `metrics.json`, even when the export
    check fails (`export.ExportVerificationError`, with the failure in the metrics).
    Raises `OptionError`s (`ConfigError`, `DataError`, `RunConfigError`) for options the
    run cannot start with, and `weights.WeightsUnavailableError`. The caller's Keras dtype
    policy is restored afterwards (the run may train in mixed precision).
    """
    caller_policy = keras.mixed_precision.global_policy()
    try:
        return _run(task, config)
    finally:
        keras.mixed_precision.set_global_policy(caller_policy)


def _run(task, config):
    began = time.perf_counter()
    distribute.initialize(config)  # before JAX computes anything
    if config.resume:
        task, config = saved_options(task, config)
    precision_reason = "as configured"
    if config.mixed_precision is None:  # decided here once, so that the run can say why
        native, precision_reason = precision.auto_mixed_precision()
        config = dataclasses.replace(config, mixed_precision=native)
    config = resolve(config, task.data_name(), task)
    check_writable(config)
    if config.export:
        require_export_packages(config.tflite_metadata)
    if config.tensorboard:
        tensorboard_events.require()
    run_dir = config.run_dir
    options = {**task.options(), **config.identity()}
    defaults = {**task.option_defaults(), **IDENTITY_DEFAULTS}  # what a run saved before an option had
    if not config.overwrite:
        checkpoints.check_can_continue(run_dir, options, defaults)
    keras.utils.set_random_seed(config.seed)
    dtype_policy = precision.policy(config.mixed_precision)
    keras.mixed_precision.set_global_policy(dtype_policy)

    data = task.load_data(config)
    # Only the chief writes the run's files; every process trains (and resumes) the same.
    chief = distribute.is_chief()
    evaluator = evaluation_copy(task, config, data)
    keras.utils.set_random_seed(config.seed)  # the trained model starts the same with or without a copy
    # The model, its optimizer and the checkpoint it resumes from live in the distribution.
    with distribute.scope(config) as replicas:
        model, trained = task.build_training_model(config, data, config.backbone_weights)
        if config.sync_bn and keras.backend.backend() == "tensorflow":
            log.info("Synchronised %d BatchNorm layers.", distribute.synchronize_batch_norm(trained))
        # Only now, with the weights found, the data loaded and the model built, does the run
        # folder get written: a start that fails leaves nothing that a corrected command trips on.
        if chief:
            run_dir.mkdir(parents=True, exist_ok=True)
            if config.overwrite:
                checkpoints.clear(run_dir)
                tensorboard_events.clear(run_dir)
            checkpoints.check_config(run_dir, options, defaults)
        events = tensorboard_events.RunEvents(run_dir, task.epoch_picture) if chief and config.tensorboard else None
        log.info(
            "Run %s: %s (weights %s, %s preprocessing) at %d px, backend %s, policy %s (%s), %d replica(s).",
            run_dir, config.model, config.weights, config.preprocessing, config.image_size,
            keras.backend.backend(), dtype_policy, precision_reason, replicas,
        )  # fmt: skip
        history, pipeline_rate = train(task, config, model, data, chief, events, evaluator, trained)
    if not chief:  # the chief evaluates and writes; the others' weights are the same
        return {"run": config.run_name, "history": history}
    if evaluator is not None:
        evaluator.set_weights(model.get_weights())
    evaluation = task.evaluate(evaluator or model, data, config, run_dir)
    plots.plot_curves(history, run_dir / "curves.png", task.curves)
    if events:
        events.finish(["curves.png", *evaluation.plots], len(history))
    if config.progress != "none":
        print(evaluation.summary)
    rates = [h["img/s"] for h in history if h["img/s"] is not None]
    metrics = {
        "run": config.run_name,
        "options": options,
        "backend": keras.backend.backend(),
        "dtype_policy": dtype_policy,
        "dtype_policy_reason": precision_reason,
        "replicas": replicas,
        **evaluation.metrics,
        "history": history,
        "training_time_s": sum(h["train_time_s"] for h in history),
        "train_images_per_s": float(np.median(rates)) if rates else None,
        "input_pipeline_images_per_s": pipeline_rate,  # alone, before training (`input_speed`)
        "wall_time_s_this_invocation": None,
        "plots": ["curves.png", *evaluation.plots],
    }
    try:
        if config.export:
            metrics["export"] = {"dir": config.export_dir, "checks": None}
            metrics["export"]["checks"] = export_model(task, config, model, data)
            if not config.keep_checkpoint:
                size = checkpoints.prune(run_dir)
                log.info("Deleted the last checkpoint (%.0f MB of weights and optimizer state): the export "
                         "holds the trained model (keep_checkpoint keeps it).", size / 1e6)  # fmt: skip
    except export.ExportVerificationError as exc:
        metrics["export"]["error"] = str(exc)
        raise
    finally:
        metrics["wall_time_s_this_invocation"] = time.perf_counter() - began
        checkpoints.write_json(run_dir / "metrics.json", metrics)
        log.info("Metrics, curves and plots in %s", run_dir)
    return metrics


def evaluation_copy(task, config, data):
    """None, or a copy of the model that the chief evaluates on this process alone (after
    every epoch and at the end), built before the distribution starts. Under TensorFlow's
    MirroredStrategy, `predict_on_batch` (which the tasks' evaluations call) runs the whole
    batch on every replica and returns each replica's outputs, concatenated; over several JAX
    processes, the variables live on every process's devices. JAX on one process shards
    `predict_on_batch` itself, so it evaluates the model it trains."""
    if distribute.mode(config) == "none" or (keras.backend.backend() != "tensorflow" and not distribute.multi_process()):
        return None
    return task.build_model(config, data, None)


class OutsideDistribution(keras.callbacks.Callback):
    """Runs the epoch ends of `callbacks` (the task's reports) on `evaluator`, a copy of
    `model` built outside the distribution, after copying the trained weights into it, and in
    a thread of their own: TensorFlow's strategy and Keras' distribution hold per thread,
    and `fit` runs inside them, so there the copy predicts on one device, each batch once."""

    def __init__(self, evaluator, model, callbacks):
        super().__init__()
        self.evaluator, self.source, self.callbacks = evaluator, model, callbacks

    def on_epoch_end(self, epoch, logs=None):
        self.evaluator.set_weights(self.source.get_weights())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            for callback in self.callbacks:
                pool.submit(callback.on_epoch_end, epoch, logs).result()


def saved_options(task, config):
    """`task` and `config` with the options saved in the run folder that `config` names."""
    path = None if config.run_name is None else config.run_dir / checkpoints.CONFIG
    if path is None or not path.exists():
        where = "no run_name is set" if path is None else f"{path} does not exist"
        raise ConfigError(f"There is no run to resume: {where}.", "resume")
    saved = checkpoints.read_json(path)
    # A run saved before an option existed ran with its default.
    return task.with_options(saved), dataclasses.replace(config, **{k: saved[k] for k in IDENTITY if k in saved})


def train(task, config, model, data, chief=True, events=None, evaluator=None, trained=None):
    """Runs (or resumes) every phase; returns the per-epoch history and the input pipeline's
    own images/s (`input_speed.measure`; None when nothing was left to train). Only the `chief`
    writes checkpoints and runs the task's per-epoch reports, on `evaluator` (see
    `evaluation_copy`) when it is given; every process restores the same checkpoint.
    `events`: the run's `tensorboard_events.RunEvents`, or None. `trained`: the model that
    `fit` trains, checkpoints and restores, when it is not `model` itself but a model sharing
    its layers (`Task.build_training_model`); the reports see `model`."""
    trained = model if trained is None else trained
    phases = recipe.plan(
        config.pretrained, config.head_epochs, config.epochs, config.lr, config.finetune_lr,
        config.unfreeze,
    )  # fmt: skip
    steps = config.steps_per_epoch or max(1, task.train_size(data) // config.batch_size)
    # Whole updates per epoch: a phase's last partial accumulation would never be applied.
    steps = max(config.accumulate_steps, steps - steps % config.accumulate_steps)

    def compile_for(phase):
        recipe.compile_for(
            trained, phase, steps, optimizer=config.optimizer, warmup_epochs=config.warmup_epochs,
            weight_decay=config.weight_decay, accumulate_steps=config.accumulate_steps, **task.compile_args(config),
        )  # fmt: skip

    run_dir = config.run_dir
    # With overwrite the chief clears the folder, perhaps only after another process looked.
    state = None if config.overwrite else checkpoints.latest(run_dir)
    distribute.agree(0 if state is None else state["epoch"], "the epoch to resume after")
    start, history, current = 0, [], None
    if state is not None:
        current = next(p for p in phases if p.name == state["phase"])
        compile_for(current)
        checkpoints.restore(run_dir, trained, state)
        start, history = state["epoch"], state["history"]
        if events:
            events.rewind(start, steps)
        log.info(
            "Resuming %s after epoch %d (phase %s, optimizer step %d).",
            run_dir, start, current.name, state["optimizer_step"],
        )  # fmt: skip
    if start >= phases[-1].end:
        log.info("Training already complete (%d epochs).", start)
        return history, None
    train_batches = task.train_batches(data, config, seed=config.seed + start)
    val_batches = task.val_batches(data, config)
    pipeline_rate = input_speed.measure(train_batches, config.batch_size)
    pace = input_speed.Verdict(pipeline_rate)  # one for every phase: it speaks once
    task_callbacks = task.callbacks(evaluator or model, data, config, run_dir) if chief else []
    if evaluator is not None and task_callbacks:
        task_callbacks = [OutsideDistribution(evaluator, model, task_callbacks)]
    for phase in phases:
        if start >= phase.end:
            continue
        if phase is not current:
            compile_for(phase)
            current = phase
        trainable = analysis.trainable_params(trained)
        log.info(
            "Phase %s: epochs %d-%d, lr %g, unfreeze %s, %s trainable parameters.",
            phase.name, phase.start + 1, phase.end, phase.lr, phase.unfreeze, f"{trainable:,}",
        )  # fmt: skip
        verbose, shown = progress.callbacks(
            config.progress, phase.name, phases[-1].end, config.batch_size, config.log_every_steps
        )
        trained.fit(
            train_batches,
            epochs=phase.end,
            initial_epoch=max(start, phase.start),
            steps_per_epoch=steps,
            validation_data=val_batches,
            # The checkpoint comes last, so that what the task logs is in its history and a
            # checkpointed epoch's events are on disk.
            callbacks=[
                *shown, pace, *task_callbacks, *([events] if events else []),
                checkpoints.Checkpointer(run_dir, phase.name, history, chief),
            ],
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles
        )
    return history, pipeline_rate


def require_export_packages(tflite_metadata=True):
    """Fails before any data is loaded or any step trained when the export at the end of
    the run could not be written for want of a package."""
    try:
        export.require(export.RUN_FORMATS, tflite_metadata=tflite_metadata)
    except export.MissingExportDependencyError as exc:
        raise ConfigError(f"{exc} Or train without exporting (export=False).", "export") from exc


def export_model(task, config, model, data):
    """Exports the trained model and checks every artifact; returns the checks.

    What gets exported is the model rebuilt uncompiled and in float32 with the trained
    weights: uncompiled, so `model.keras` carries no optimizer state (half the size) and
    no backend-specific optimizer class (a torch one would drag PyTorch into the
    TensorFlow export process); float32, so mixed-precision runs export plain float32
    artifacts.
    """
    keras.mixed_precision.set_global_policy("float32")
    inference = task.build_model(config, data, None)
    inference.set_weights(model.get_weights())
    checks = export.export_all(
        task.export_model(inference, config, data), config.export_dir, task.labels(data),
        task.export_examples(data, config), config.export_tolerance, check=task.export_check(),
        metrics=task.export_metrics(),
        tflite_metadata=config.tflite_metadata, timing_runs=config.export_timing_runs,
    )  # fmt: skip
    log.info("Exported to %s; every artifact matches the Keras model:", config.export_dir)
    for name, check in checks.items():
        log.info("  %s", describe_check(task, name, check))
    return checks


def describe_check(task, name, check):
    """One artifact's check in words; the agreement figure is the task's (`Task.agreement`)."""
    key, what = task.agreement
    return (
        f"{name:<12} max abs diff {check['max_abs_diff']:.2e}, {what} {100 * check[key]:.0f}% on "
        f"{check['images']} test images"
    )
