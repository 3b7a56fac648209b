"""Training callbacks: preemption-safe checkpoints, learning-rate and throughput logs, a final metrics JSON."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from text_contract.storage import write_json


class PreemptionCheckpoint(keras.callbacks.Callback):
    """Saves model and optimizer state (slots and step counter included) at the end of every "epoch".

    An epoch here is one checkpoint interval, so a restart resumes exactly at a checkpoint boundary and
    loses at most one interval of work. Every worker saves (MultiWorkerMirroredStrategy requires it);
    only the chief writes into `directory`, the others into a scratch directory of their own.
    """

    def __init__(self, directory: str, steps_per_interval: int, keep: int, chief: bool, task_id: int = 0):
        super().__init__()
        self.directory = directory if chief else os.path.join(directory, f".worker-{task_id}-scratch")
        self.steps_per_interval = steps_per_interval
        self.keep = keep
        self._manager: Optional[tf.train.CheckpointManager] = None

    def attach(self, model: keras.Model) -> int:
        """Creates the checkpoint for `model` (its optimizer built) and restores the newest one: the step to
        resume from (0 for a fresh run)."""
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self._manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=self.keep)
        latest = self._manager.latest_checkpoint
        if not latest:
            return 0
        checkpoint.restore(latest).assert_existing_objects_matched()
        return int(re.search(r"ckpt-(\d+)$", latest).group(1))

    def on_epoch_end(self, epoch, logs=None):
        self._manager.save(checkpoint_number=(epoch + 1) * self.steps_per_interval)


class TrainingLogger(keras.callbacks.Callback):
    """Writes learning rate and examples/s to TensorBoard every `every` steps (Keras' TensorBoard callback
    writes the losses and metrics), the current step to `progress_path` (for monitoring), and the final
    metrics JSON."""

    def __init__(
        self,
        log_dir: str,
        global_batch_size: int,
        every: int,
        initial_step: int,
        metrics_path: Optional[str],
        progress_path: Optional[str] = None,
    ):
        super().__init__()
        self.progress_path = progress_path
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))
        self.global_batch_size = global_batch_size
        self.every = every
        self.step = initial_step
        self.initial_step = initial_step
        self.metrics_path = metrics_path
        self._window_start = None
        self._run_start = None
        self._last_logs = {}

    def on_train_begin(self, logs=None):
        self._run_start = self._window_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self._last_logs = dict(logs or {})
        if self.step % self.every:
            return
        now = time.perf_counter()
        examples_per_second = self.every * self.global_batch_size / max(now - self._window_start, 1e-9)
        self._window_start = now
        learning_rate = self.model.optimizer.learning_rate
        with self.writer.as_default(step=self.step):
            tf.summary.scalar("learning_rate", float(keras.ops.convert_to_numpy(learning_rate)))
            tf.summary.scalar("examples_per_second", examples_per_second)
        self.writer.flush()
        if self.progress_path:
            write_json(self.progress_path, {"step": self.step, "examples_per_second": round(examples_per_second, 2)})

    def on_train_end(self, logs=None):
        if not self.metrics_path:
            return
        elapsed = time.perf_counter() - self._run_start
        steps_run = self.step - self.initial_step
        final = {k: float(v) for k, v in {**self._last_logs, **(logs or {})}.items()}
        summary = {
            "final_step": self.step,
            "optimizer_iterations": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
            "resumed_from_step": self.initial_step,
            "steps_this_run": steps_run,
            "wall_seconds_this_run": round(elapsed, 3),
            "examples_per_second": round(steps_run * self.global_batch_size / max(elapsed, 1e-9), 2),
            "metrics": final,
        }
        write_json(self.metrics_path, summary)


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights with the best value of `monitor` (a validation log key) seen at an interval's end.

    The best weights go to `weights_path` (an `.npz` of `model.get_weights()`, in order, written atomically:
    independent of layer names, which differ between two models built in one process) and their value and
    step to `<weights_path minus .npz>.json`, so a resumed run keeps competing against the best of the
    interrupted one. `restore(model)` loads them back (the caller does so after training).
    """

    def __init__(self, monitor: str, mode: str, weights_path: str, steps_per_interval: int):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if not weights_path.endswith(".npz"):
            raise ValueError(f"weights_path must end in .npz, got {weights_path!r}")
        self.monitor = monitor
        self.mode = mode
        self.weights_path = weights_path
        self.record_path = weights_path[: -len(".npz")] + ".json"
        self.steps_per_interval = steps_per_interval
        self.best: Optional[dict] = None
        if os.path.exists(self.record_path) and os.path.exists(self.weights_path):
            with open(self.record_path, encoding="utf-8") as handle:
                self.best = json.load(handle)

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best["value"] if self.mode == "min" else value > self.best["value"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"select_best_metric {self.monitor!r} is not among the logs {sorted(logs)} "
                           "(were eval files given?)")
        value = float(logs[self.monitor])
        if not self._better(value):
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.weights_path)), exist_ok=True)
        temporary = self.weights_path[: -len(".npz")] + ".tmp.npz"
        with open(temporary, "wb") as handle:
            np.savez(handle, *self.model.get_weights())
        os.replace(temporary, self.weights_path)
        self.best = {"metric": self.monitor, "mode": self.mode, "value": value,
                     "step": (epoch + 1) * self.steps_per_interval}
        write_json(self.record_path, self.best)

    def restore(self, model: keras.Model) -> Optional[dict]:
        """Loads the best weights into `model`; returns their record, or None when there are none."""
        if self.best is None:
            return None
        with np.load(self.weights_path) as stored:
            model.set_weights([stored[f"arr_{i}"] for i in range(len(stored.files))])
        return dict(self.best)
