"""Optimizers and schedules: LAMB (pretraining) or AdamW (fine-tuning), linear warmup then polynomial
decay, global-norm clipping, weight decay that skips LayerNorm and biases, gradient accumulation."""

from __future__ import annotations

import threading

import keras
import tensorflow as tf
from keras import ops

from trainer.training_config import TrainingConfig

# Weight decay does not apply to LayerNorm scales/offsets and biases (as in BERT and ALBERT).
NO_DECAY_NAMES = ("gamma", "beta", "bias", "output_bias")


@keras.saving.register_keras_serializable(package="albert_tfx")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak` over `warmup_steps`, then polynomial decay to `end` at `decay_steps`."""

    def __init__(self, peak, decay_steps, warmup_steps=0, end=0.0, power=1.0):
        self.peak = float(peak)
        self.decay_steps = int(decay_steps)
        self.warmup_steps = int(warmup_steps)
        self.end = float(end)
        self.power = float(power)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = ops.maximum(float(self.warmup_steps), 1.0)
        warmup_rate = self.peak * ops.minimum(step + 1.0, warmup) / warmup
        decay_span = ops.maximum(float(self.decay_steps - self.warmup_steps), 1.0)
        progress = ops.clip((step - float(self.warmup_steps)) / decay_span, 0.0, 1.0)
        decayed = (self.peak - self.end) * ops.power(1.0 - progress, self.power) + self.end
        return ops.where(step < float(self.warmup_steps), warmup_rate, decayed)

    def get_config(self):
        return {
            "peak": self.peak,
            "decay_steps": self.decay_steps,
            "warmup_steps": self.warmup_steps,
            "end": self.end,
            "power": self.power,
        }


class _AggregateBeforeClipping:
    """Global-norm clipping on the gradient summed over replicas, as on one device.

    Keras 3 (TF backend) clips inside each replica before its all-reduce, so under Mirrored or
    MultiWorkerMirrored strategies every replica clipped its own partial gradient and training diverged from
    the single-device run. Here the all-reduce moves ahead of the clipping, and Keras' own (later) one is
    skipped for that step.
    """

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        if self.global_clipnorm and context is not None and context.num_replicas_in_sync > 1:
            present = [g for g in grads if g is not None]
            reduced = iter(context.all_reduce(tf.distribute.ReduceOp.SUM, present))
            grads = [None if g is None else next(reduced) for g in grads]
            self._reduced_flag().value = True
        return super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        flag = self._reduced_flag()
        if getattr(flag, "value", False):
            flag.value = False  # set at trace time by the clip just before, in this replica's thread
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)

    def _reduced_flag(self):
        # MirroredStrategy traces each replica in its own thread: the flag must be per thread.
        if "_reduced_flag_storage" not in self.__dict__:
            self.__dict__["_reduced_flag_storage"] = threading.local()
        return self.__dict__["_reduced_flag_storage"]


@keras.saving.register_keras_serializable(package="albert_tfx")
class Lamb(_AggregateBeforeClipping, keras.optimizers.Lamb):
    """LAMB (You et al., 2019), the optimizer ALBERT pretrains with."""


@keras.saving.register_keras_serializable(package="albert_tfx")
class AdamW(_AggregateBeforeClipping, keras.optimizers.AdamW):
    """AdamW, for fine-tuning."""


def create_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """The run's optimizer. Global-norm clipping and gradient accumulation use Keras 3's built-in support;
    with `gradient_accumulation_steps = k` the variables change every k-th batch, so the effective batch
    is k x global_batch_size and `train_steps` counts batches."""
    schedule = WarmupPolynomialDecay(
        peak=config.learning_rate,
        decay_steps=config.train_steps // config.gradient_accumulation_steps,
        warmup_steps=config.warmup_steps // config.gradient_accumulation_steps,
        end=config.end_learning_rate,
        power=config.decay_power,
    )
    common = dict(
        learning_rate=schedule,
        weight_decay=config.weight_decay,
        global_clipnorm=config.clip_norm or None,  # 0: no clipping
        gradient_accumulation_steps=None if config.gradient_accumulation_steps == 1 else config.gradient_accumulation_steps,
    )
    if config.resolved_optimizer() == "lamb":
        optimizer = Lamb(epsilon=1e-6, **common)
    else:
        optimizer = AdamW(epsilon=1e-6, **common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    return optimizer
