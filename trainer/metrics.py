"""`SparseAccuracy`: accuracy of integer labels against logits, without an argmax; `MacroF1`: the classifier's
macro-F1 over a streamed confusion matrix (what training selects its best checkpoint by).

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


@keras.saving.register_keras_serializable(package="albert_tfx")
class MacroF1(keras.metrics.Metric):
    """Macro-F1 of integer labels against `[batch, num_classes]` logits: the mean over classes of
    2TP / (2TP + FP + FN), over the classes that occur among the labels or the predictions (the Evaluator's
    definition, components/class_metrics_evaluator/chance.py, which scores the same confusion matrix in
    Python). Unweighted: class weights change the loss, not what the model is judged by.

    Why beside accuracy: on unbalanced labels the best `val_accuracy` is often the constant majority-class
    predictor of an early step, which the Evaluator's gate refuses; macro-F1 ranks it low (MRPC, 68% one
    class, picked such a checkpoint by accuracy). Not keras.metrics.F1Score: it wants one-hot labels and
    probabilities, and counts a class never seen as F1 0.
    """

    def __init__(self, num_classes: int, name="macro_f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"MacroF1 needs num_classes >= 2, got {num_classes!r}")
        self.num_classes = num_classes
        # confusion[actual, predicted], in examples.
        self.confusion = self.add_variable(shape=(num_classes, num_classes), initializer="zeros",
                                           dtype="float32", name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        del sample_weight  # unweighted (see the class docstring)
        labels = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        predictions = tf.argmax(tf.reshape(y_pred, [-1, self.num_classes]), axis=-1, output_type=tf.int32)
        actual = tf.one_hot(labels, self.num_classes, dtype=tf.float32)
        predicted = tf.one_hot(predictions, self.num_classes, dtype=tf.float32)
        self.confusion.assign_add(tf.matmul(actual, predicted, transpose_a=True))

    def result(self):
        true_positive = tf.linalg.diag_part(self.confusion)
        # 2TP + FP + FN = (TP + FN) + (TP + FP): the class's labels plus its predictions.
        denominator = tf.reduce_sum(self.confusion, axis=1) + tf.reduce_sum(self.confusion, axis=0)
        present = denominator > 0
        scores = tf.where(present, 2.0 * true_positive / tf.maximum(denominator, 1.0), 0.0)
        return tf.reduce_sum(scores) / tf.maximum(tf.reduce_sum(tf.cast(present, tf.float32)), 1.0)

    def reset_state(self):
        self.confusion.assign(tf.zeros_like(self.confusion))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}
