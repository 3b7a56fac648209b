import keras
import numpy as np
import tensorflow as tf

from trainer.metrics import SparseAccuracy, sparse_accuracy


def test_matches_keras_sparse_categorical_accuracy_with_sample_weights():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5, 7)).astype("float32")
    labels = rng.integers(0, 7, (4, 5)).astype("int32")
    labels[:, :2] = logits[:, :2].argmax(-1)  # some right, some wrong
    weights = rng.integers(0, 2, (4, 5)).astype("float32")
    ours, theirs = SparseAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    ours.update_state(labels, logits, sample_weight=weights)
    theirs.update_state(labels, logits, sample_weight=weights)
    assert 0.0 < float(theirs.result()) < 1.0
    np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)


def test_per_example_values_and_label_shapes():
    logits = tf.constant([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    np.testing.assert_array_equal(sparse_accuracy(tf.constant([1, 2]), logits), [1.0, 0.0])
    np.testing.assert_array_equal(sparse_accuracy(tf.constant([[1], [0]]), logits), [1.0, 1.0])
    # Keras hands labels over as floats.
    np.testing.assert_array_equal(sparse_accuracy(tf.constant([0.0, 0.0]), logits), [0.0, 1.0])


def test_named_accuracy_and_round_trips_its_config():
    metric = SparseAccuracy()
    assert metric.name == "accuracy"
    assert SparseAccuracy.from_config(metric.get_config()).name == "accuracy"
