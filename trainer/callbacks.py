"""Training callbacks: preemption-safe checkpoints, learning-rate and throughput logs, a final metrics JSON,
best-weights selection with early stopping, weight averaging, and the divergence guard."""

from __future__ import annotations

import math
import os
import re
import time
from typing import Callable, List, Optional

import keras
import numpy as np
import tensorflow as tf

from text_contract import storage
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

    def attach(self, model: keras.Model, **extra: tf.Module) -> int:
        """Creates the checkpoint for `model` (its optimizer built) and `extra` state (e.g. a `WeightAverage`'s)
        and restores the newest one: the step to resume from (0 for a fresh run)."""
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, **extra)
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
    """Keeps the weights with the best value of `monitor` (a validation log key) seen at an evaluation, and
    stops training early after `patience` evaluations without a better one (0: never).

    Evaluations happen every `eval_every_steps` (default: every interval; a multiple of the interval, as
    Keras' `validation_freq` runs them); interval ends without one are skipped. The best weights go to
    `weights_path` (an `.npz` of `model.get_weights()`, in order, written atomically: independent of layer
    names, which differ between two models built in one process) and their value and step to `<weights_path
    minus .npz>.json`, so a resumed run keeps competing against the best of the interrupted one. Early
    stopping reads nothing but that record (not keras.callbacks.EarlyStopping, whose count of evaluations
    without improvement dies with the process), so a resumed run stops where the interrupted one would have.
    `restore(model)` loads the best weights back (the caller does so after training). `evaluated_weights`:
    what to keep of an evaluation (default: `model.get_weights()`; a `WeightAverage` gives the averages it
    evaluated).
    """

    def __init__(self, monitor: str, mode: str, weights_path: str, steps_per_interval: int,
                 eval_every_steps: Optional[int] = None, patience: int = 0,
                 evaluated_weights: Optional[Callable[[], List[np.ndarray]]] = None):
        super().__init__()
        self.evaluated_weights = evaluated_weights
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if not weights_path.endswith(".npz"):
            raise ValueError(f"weights_path must end in .npz, got {weights_path!r}")
        eval_every_steps = eval_every_steps or steps_per_interval
        if eval_every_steps % steps_per_interval:
            raise ValueError(f"eval_every_steps={eval_every_steps} must be a multiple of "
                             f"steps_per_interval={steps_per_interval}")
        self.monitor = monitor
        self.mode = mode
        self.weights_path = weights_path
        self.record_path = weights_path[: -len(".npz")] + ".json"
        self.steps_per_interval = steps_per_interval
        self.eval_every_steps = eval_every_steps
        self.patience = patience
        self.stopped_at_step: Optional[int] = None
        self.best: Optional[dict] = None
        if storage.exists(self.record_path) and storage.exists(self.weights_path):
            self.best = storage.read_json(self.record_path)

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best["value"] if self.mode == "min" else value > self.best["value"]

    def exhausted(self, step: int) -> bool:
        """Whether the evaluations up to `step` ended `patience` evaluations past the best one."""
        return bool(self.patience) and self.best is not None and \
            step - self.best["step"] >= self.patience * self.eval_every_steps

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.steps_per_interval
        if step % self.eval_every_steps:
            return  # no evaluation at this interval's end
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"select_best_metric {self.monitor!r} is not among the logs {sorted(logs)} "
                           "(were eval files given?)")
        value = float(logs[self.monitor])
        if self._better(value) and math.isfinite(value):
            self._save(value, step)
        if self.exhausted(step):
            self.stopped_at_step = step
            self.model.stop_training = True

    def _save(self, value: float, step: int) -> None:
        # Each file replaced whole (storage.write_bytes), on a local disk or an object store.
        storage.save_arrays(self.weights_path,
                            self.evaluated_weights() if self.evaluated_weights else self.model.get_weights())
        self.best = {"metric": self.monitor, "mode": self.mode, "value": value, "step": step}
        write_json(self.record_path, self.best)

    def restore(self, model: keras.Model) -> Optional[dict]:
        """Loads the best weights into `model`; returns their record, or None when there are none."""
        if self.best is None:
            return None
        model.set_weights(storage.load_arrays(self.weights_path))
        return dict(self.best)


class WeightAverage(keras.callbacks.Callback):
    """An exponential moving average of the trainable weights (Polyak averaging), which the evaluations score.

    After step n the average moves towards the weights by 1 - d, with d = min(`decay`, (1 + n) / (10 + n))
    (the dynamic decay of the TF Model Garden's ExponentialMovingAverage): early on it follows the weights
    closely, and on a run shorter than about 9 / (1 - decay) steps it spans roughly the last tenth of them,
    whatever the run's length. Why: the weights of a run trained at a still-high learning rate (one that stops
    early, before the schedule has decayed) scatter around the minimum; their average generalizes better
    than any one of them, as a decayed learning rate would, without knowing in advance when training stops.

    Each evaluation runs on the averages (swapped in at `on_test_begin`, the trained weights swapped back at
    `on_test_end`), and `evaluated_weights()` returns the weights the last evaluation scored, for
    `BestWeights` to keep. `apply()` loads the averages for good (after training, when no evaluation
    chose weights). `state`: the averages and their step count, for the preemption checkpoint, so a resumed
    run averages on where it stopped. `attach(model)` creates them (in the strategy's scope, before the
    checkpoint is restored).
    """

    def __init__(self, decay: float):
        super().__init__()
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}")
        self.decay = decay
        self.state = tf.Module()
        self._variables: list = []
        self._evaluated: Optional[List[np.ndarray]] = None

    def attach(self, model: keras.Model) -> tf.Module:
        self._variables = list(model.trainable_variables)
        self.state.count = tf.Variable(0, dtype=tf.int64, trainable=False, name="weight_average_count")
        self.state.averages = [tf.Variable(keras.ops.convert_to_tensor(v), trainable=False,
                                           name=f"weight_average_{i}") for i, v in enumerate(self._variables)]
        self._trained = [tf.Variable(keras.ops.convert_to_tensor(v), trainable=False) for v in self._variables]
        return self.state

    @tf.function
    def _update(self):
        self.state.count.assign_add(1)
        step = tf.cast(self.state.count, tf.float32)
        decay = tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + step) / (10.0 + step))
        for average, variable in zip(self.state.averages, self._variables):
            average.assign(decay * average + (1.0 - decay) * tf.cast(variable, average.dtype))

    def on_train_batch_end(self, batch, logs=None):
        self._update()

    def on_test_begin(self, logs=None):
        for trained, average, variable in zip(self._trained, self.state.averages, self._variables):
            trained.assign(variable)
            variable.assign(average)

    def on_test_end(self, logs=None):
        self._evaluated = self.model.get_weights()
        for trained, variable in zip(self._trained, self._variables):
            variable.assign(trained)

    def evaluated_weights(self) -> List[np.ndarray]:
        if self._evaluated is None:
            raise RuntimeError("WeightAverage.evaluated_weights() before any evaluation")
        return self._evaluated

    def apply(self) -> None:
        for average, variable in zip(self.state.averages, self._variables):
            variable.assign(average)


class TrainingDiverged(RuntimeError):
    """Training stopped because its loss became NaN or infinite, or rose far above its best.

    `step` is the step whose loss gave it away, `loss` that loss (or its smoothed value)."""

    def __init__(self, message: str, step: int, loss: float):
        super().__init__(message)
        self.step = step
        self.loss = loss


class DivergenceGuard(keras.callbacks.Callback):
    """Raises `TrainingDiverged` when a step's loss is NaN or infinite, or when, after `warmup_steps`, the
    smoothed loss exceeds `factor` times its best so far and also the loss this process started from (0: no
    such check). The second condition keeps a loss that fell near 0 from tripping it on noise: a model
    counts as diverged once it is worse than when it started.

    Keras' batch logs hold the loss averaged since the interval began; each step's own loss is recovered
    from consecutive averages and smoothed over about `1 / SMOOTHING` steps. The guard raises before the
    interval's checkpoint, so every checkpoint and best-weights file already written stays a sound one
    (keras.callbacks.TerminateOnNaN only stops, quietly, and the NaN weights would then be saved and
    exported). `advice` ends the message: what to change.
    """

    SMOOTHING = 0.05

    def __init__(self, initial_step: int, warmup_steps: int, factor: float, advice: str = ""):
        super().__init__()
        self.step = initial_step
        self.warmup_steps = warmup_steps
        self.factor = factor
        self.advice = advice
        self._interval_batches, self._interval_mean = 0, 0.0
        self.start: Optional[float] = None
        self.smoothed: Optional[float] = None
        self.best: Optional[float] = None

    def on_epoch_begin(self, epoch, logs=None):
        self._interval_batches, self._interval_mean = 0, 0.0  # Keras restarts its loss average here

    def _diverged(self, loss: float, reason: str) -> TrainingDiverged:
        return TrainingDiverged(f"training diverged at step {self.step}: {reason}. Training stopped; the "
                                f"checkpoints written so far are kept. {self.advice}".rstrip(), self.step, loss)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if not logs or "loss" not in logs:
            return
        mean = float(logs["loss"])
        if not math.isfinite(mean):
            raise self._diverged(mean, f"the loss is {mean}")
        count = self._interval_batches + 1
        loss = count * mean - (count - 1) * self._interval_mean
        self._interval_batches, self._interval_mean = count, mean
        if self.smoothed is None:
            self.start = self.smoothed = self.best = loss
            return
        self.smoothed += self.SMOOTHING * (loss - self.smoothed)
        self.best = min(self.best, self.smoothed)
        if (self.factor and self.step > self.warmup_steps and self.smoothed > self.factor * self.best
                and self.smoothed > self.start):
            raise self._diverged(self.smoothed, f"the smoothed loss {self.smoothed:.4g} is over {self.factor:g} "
                                 f"times its best {self.best:.4g} and above its start {self.start:.4g}")
