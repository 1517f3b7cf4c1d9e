"""TensorBoard event files of a run, so that `tensorboard --logdir runs` shows every run.

A run folder gets Keras' layout, `<run_dir>/train/` and `<run_dir>/validation/` (in
TensorBoard: runs `<run-name>/train` and `<run-name>/validation`, train and validation of one
metric in the same chart), with Keras' tags:

- every training step, in train: `batch_loss` and the task's other metrics (Keras' running
  means over the epoch so far) and `batch_learning_rate`, the optimizer's schedule at that
  step; the step is the batch count of the whole run (`epoch * steps_per_epoch + batch + 1`),
  so it continues through the phases (each has a fresh optimizer, whose counter restarts)
  and through a resume;
- every epoch, at the epoch's number (1-based, as in `metrics.json`'s history): everything
  in the epoch's logs, `epoch_<name>` (`val_<name>` into validation as `epoch_<name>`):
  loss, metrics, the task's validation figures (mAP, mIoU), `epoch_img_per_s` (training
  images/s, `progress.Throughput`), `epoch_train_time_s`, `epoch_epoch_time_s`;
- as images, in train: the picture a task draws after each epoch (`Task.epoch_picture`,
  tag: its name up to the epoch number, `predictions_epoch`), and at the end the run's plots (`curves.png` and
  the task's evaluation plots, tag: the file name without `.png`), at the last epoch.

Events are flushed after every epoch, before its checkpoint, so a checkpointed epoch has
its events on disk. A killed run leaves events of the epoch it was in; a resumed run first
drops those (`rewind`), then writes that epoch again into a new event file in the same
folders, so every step is there once. Only the chief process writes (`distribute.is_chief`);
`overwrite` deletes the folders with the checkpoints.

Not `keras.callbacks.TensorBoard`: its batch counter restarts at 0 at every `fit`, which this
training calls once per phase and once per resume, so the steps of phase 2 and of a resumed run
would land on those already written; it logs the learning rate once per epoch only, and its
images are of weights, not pictures. Like it, this writes through `tf.summary` (under every
backend: TensorFlow is installed with the apps), whose summaries need the `tensorboard` package.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import keras

from keras_resnets.training.errors import ConfigError

WRITERS = ("train", "validation")  # sub-folders of the run folder, as Keras names them


def require():
    """Fails before any data is loaded when the event files could not be written."""
    missing = [name for name in ("tensorflow", "tensorboard") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"TensorBoard logging needs {' and '.join(missing)} (tf.summary writes the event files): "
            "pip install tensorboard==2.21.0 (pinned in requirements.txt), or train without it "
            "(tensorboard=False).",
            "tensorboard",
        )


def clear(run_dir):
    """Deletes a run folder's event files (to start the run again)."""
    for name in WRITERS:
        shutil.rmtree(Path(run_dir) / name, ignore_errors=True)


def _tag(name):
    return name.replace("/", "_per_")  # "img/s": a "/" would make a group of its own


class RunEvents(keras.callbacks.Callback):
    """Writes a run's event files; place it after the callbacks whose logs and pictures it
    records (the task's), before the checkpoint; `finish` once the run's plots are drawn."""

    def __init__(self, run_dir, epoch_picture=None):
        """`epoch_picture`: the task's (`Task.epoch_picture`), a file name with `{epoch}`."""
        super().__init__()
        import tensorflow as tf

        self.tf = tf
        self.run_dir = Path(run_dir)
        self.epoch_picture = epoch_picture
        # "predictions_epoch{epoch:03d}.png": one tag, "predictions_epoch", over the epochs
        self.epoch_tag = epoch_picture and Path(epoch_picture).stem.split("{")[0]
        self.writers = {}  # opened on first use, after `rewind`

    def _writer(self, name):
        if name not in self.writers:
            self.writers[name] = self.tf.summary.create_file_writer(str(self.run_dir / name))
        return self.writers[name]

    def rewind(self, epoch, steps_per_epoch):
        """Drops from the folders' event files what a killed run wrote after its last
        checkpoint, `epoch`: the resumed run writes those steps again, and TensorBoard's
        readers would show both (TensorBoard's Python reader drops out-of-order steps only
        from files older than the `tf.summary` ones). Call before anything is written."""
        tf = self.tf
        for path in sorted(p for name in WRITERS for p in (self.run_dir / name).glob("events.out.tfevents.*")):
            kept, dropped = [], False
            try:
                for record in tf.data.TFRecordDataset(str(path)):
                    event = tf.compat.v1.Event.FromString(record.numpy())
                    per_step = any(v.tag.startswith("batch_") for v in event.summary.value)
                    if event.step > (epoch * steps_per_epoch if per_step else epoch):
                        dropped = True
                    else:
                        kept.append(record)
            except tf.errors.DataLossError:  # a record cut short by the kill
                dropped = True
            if dropped:
                tmp = path.with_name(f".tmp-{path.name}")
                with tf.io.TFRecordWriter(str(tmp)) as out:
                    for record in kept:
                        out.write(record.numpy())
                os.replace(tmp, path)

    def _scalars(self, writer, values, step):
        with self._writer(writer).as_default():
            for name, value in values.items():
                self.tf.summary.scalar(name, value, step=step)

    def on_epoch_begin(self, epoch, logs=None):
        self.first_step = epoch * self.params["steps"]
        # Keras evaluates the schedule at its batch counter. Under JAX the optimizer's
        # variables cannot be read within an epoch (the trainer holds them), so the counter
        # is read here, where it can, and counted on; the schedule is what `recipe` made.
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under LossScaleOptimizer
        self.schedule = optimizer._learning_rate
        updates = int(keras.ops.convert_to_numpy(optimizer.iterations))
        self.phase_batches = updates * (optimizer.gradient_accumulation_steps or 1)

    def on_train_batch_end(self, batch, logs=None):
        values = {f"batch_{_tag(k)}": float(v) for k, v in (logs or {}).items() if k != "img/s"}
        values["batch_learning_rate"] = float(keras.ops.convert_to_numpy(self.schedule(self.phase_batches + batch)))
        self._scalars("train", values, self.first_step + batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(v) for k, v in (logs or {}).items()}
        train = {f"epoch_{_tag(k)}": v for k, v in values.items() if not k.startswith("val_")}
        validation = {f"epoch_{_tag(k[4:])}": v for k, v in values.items() if k.startswith("val_")}
        self._scalars("train", train, epoch + 1)
        self._scalars("validation", validation, epoch + 1)
        if self.epoch_picture:
            self.pictures([self.epoch_picture.format(epoch=epoch + 1)], epoch + 1, tag=self.epoch_tag)
        for writer in self.writers.values():
            writer.flush()

    def pictures(self, names, step, tag=None):
        """The PNG files `names` of the run folder as images at `step` (tag: the name
        without `.png`, or `tag`); a name that is not there is skipped."""
        tf = self.tf
        with self._writer("train").as_default():
            for name in names:
                path = self.run_dir / name
                if path.exists():
                    image = tf.io.decode_png(tf.io.read_file(str(path)), channels=3)
                    tf.summary.image(tag or Path(name).stem, image[None], step=step)
        self._writer("train").flush()

    def finish(self, plots, step):
        """Writes the run's `plots` (PNG names in the run folder) but the epoch pictures,
        already written, at `step`; closes the files."""
        self.pictures([p for p in plots if not (self.epoch_tag and p.startswith(self.epoch_tag))], step)
        for writer in self.writers.values():
            writer.close()
