"""`SparseAccuracy`: accuracy of integer labels against logits, without an argmax.

Not `keras.metrics.SparseCategoricalAccuracy`: over the MLM decoder's `[predictions, 30,000]` logits its
argmax was a large share of a `tiny` pretraining step on CPU (profiled):
- Keras 3's `ops.argmax` first rewrites every -0.0 to the smallest negative float (a flush-to-zero
  workaround), three extra passes over its input: 13 ms next to the ArgMax's own 4 ms, without XLA;
- under XLA an argmax is a variadic (value, index) reduction, which XLA's CPU backend ran serially: 13 ms,
  against ~2 ms for a plain max reduction.
A prediction is counted correct when the label's logit is the row's maximum. That equals
`argmax == label` except on exact ties for the maximum, which trained float logits do not produce in
practice (there it counts as correct, where argmax would pick the lowest index).
"""

import keras
import tensorflow as tf

from trainer.losses import as_rows


def sparse_accuracy(y_true, y_pred):
    """1.0 where the label's logit is the largest of its row, else 0.0; shaped like the labels."""
    # Flattened by the loss's own helper, so that XLA can share the row maximum and the label gather
    # between loss and metric.
    label_rows, logit_rows, labels_shape = as_rows(y_true, y_pred)
    correct = tf.gather(logit_rows, label_rows, batch_dims=1) >= tf.reduce_max(logit_rows, axis=-1)
    return tf.reshape(tf.cast(correct, tf.float32), labels_shape)


@keras.saving.register_keras_serializable(package="albert_tfx")
class SparseAccuracy(keras.metrics.MeanMetricWrapper):
    """Mean of `sparse_accuracy`; named `accuracy` so logs read `mlm_logits_accuracy` etc."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=sparse_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
