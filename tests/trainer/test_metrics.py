import keras
import numpy as np
import pytest
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


def test_macro_f1_streams_the_evaluators_macro_f1_and_ignores_sample_weights():
    from components.class_metrics_evaluator import chance
    from trainer.metrics import MacroF1

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=50)
    logits = rng.normal(size=(50, 4)).astype("float32")  # class 3 is predicted but never a label
    metric = MacroF1(num_classes=4)
    for start in range(0, 50, 16):  # batches, as an evaluation streams them
        metric.update_state(labels[start:start + 16], logits[start:start + 16],
                            sample_weight=np.full(len(labels[start:start + 16]), 9.0))
    predictions = logits.argmax(-1)
    matrix = {}
    for actual, predicted in zip(labels, predictions):
        matrix[(int(actual), int(predicted))] = matrix.get((int(actual), int(predicted)), 0.0) + 1.0
    assert float(metric.result()) == pytest.approx(chance.macro_f1(matrix), abs=1e-6)
    assert 3 in set(predictions)  # the never-labelled class is part of the mean, as in the Evaluator

    constant = MacroF1(num_classes=2)
    constant.update_state(np.array([1, 1, 1, 0]), np.array([[0.0, 1.0]] * 4, "float32"))
    assert float(constant.result()) == pytest.approx((0.0 + 2 * 3 / (3 + 4)) / 2)  # the majority predictor's
    constant.reset_state()
    assert float(constant.result()) == 0.0
    assert MacroF1.from_config(constant.get_config()).num_classes == 2
    with pytest.raises(ValueError, match="num_classes >= 2, got 1"):
        MacroF1(num_classes=1)
