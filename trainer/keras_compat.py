"""Work-arounds for Keras 3.12 (TensorFlow backend) under distribution strategies, in one place.

1. Before `fit`, Keras builds its metrics by pulling a batch from the distributed iterator and
   `strategy.reduce`-ing it; under MultiWorkerMirroredStrategy that reduce fails for dict inputs
   ("Attempt to convert a value ({'token_ids': PerReplica...}) ... to a Tensor"), and it spends a batch.
   Our task models build from the dataset's element spec instead (zeros of the right shapes), once.
2. Under MultiWorkerMirroredStrategy Keras reduces each step's logs with `strategy.reduce("MEAN", v,
   axis=0)`, which fails on the scalar losses and metrics ("Invalid reduction dimension 0 for input with 0
   dimensions"). Our steps return them as shape [1] there, which that reduce turns back into scalars.
"""

import tensorflow as tf


def _is_multi_worker(strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


class DistributedFitCompat:
    """Mixin for our Keras task models; see the module docstring."""

    def build_for_fit(self, element_spec, strategy: tf.distribute.Strategy) -> None:
        batch = tf.nest.map_structure(
            lambda spec: tf.zeros([dim or 1 for dim in spec.shape], spec.dtype), element_spec
        )
        with strategy.scope():
            self._symbolic_build(data_batch=batch)
        self._built_from_element_spec = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if getattr(self, "_built_from_element_spec", False):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def train_step(self, data):
        return self._rank_one_logs_for_multi_worker(super().train_step(data))

    def test_step(self, data):
        return self._rank_one_logs_for_multi_worker(super().test_step(data))

    def _rank_one_logs_for_multi_worker(self, logs):
        if not _is_multi_worker(self.distribute_strategy):
            return logs
        return {name: tf.reshape(value, [1]) if value.shape.rank == 0 else value for name, value in logs.items()}
