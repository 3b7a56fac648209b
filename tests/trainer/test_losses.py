import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer.losses import SparseSoftmaxCrossEntropy, sparse_softmax_cross_entropy


def _logits_and_labels(shape, classes, seed=0, scale=4.0):
    rng = np.random.default_rng(seed)
    logits = tf.constant(rng.normal(0, scale, (*shape, classes)).astype("float32"))
    labels = tf.constant(rng.integers(0, classes, shape).astype("int32"))
    return logits, labels


@pytest.mark.parametrize("shape", [(7,), (3, 5)])
def test_values_and_gradients_equal_tensorflows_fused_kernel(shape):
    logits, labels = _logits_and_labels(shape, classes=11)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = sparse_softmax_cross_entropy(labels, logits)
        reference = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        # Uneven upstream weights check the gradient's per-row scaling.
        weights = tf.range(1.0, 1.0 + tf.size(labels, tf.float32))
        weights = tf.reshape(weights, labels.shape)
        ours_total, reference_total = tf.reduce_sum(ours * weights), tf.reduce_sum(reference * weights)
    assert ours.shape == labels.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(ours_total, logits), tape.gradient(reference_total, logits), atol=1e-5)


def test_large_logits_do_not_overflow():
    logits = tf.constant([[1000.0, 0.0, -1000.0], [-5e4, 5e4, 0.0]])
    losses = sparse_softmax_cross_entropy(tf.constant([0, 2]), logits)
    np.testing.assert_allclose(losses, [0.0, 5e4], rtol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "sum"])
def test_keras_loss_matches_keras_sparse_categorical_crossentropy(reduction):
    logits, labels = _logits_and_labels((4, 6), classes=9, seed=1)
    sample_weight = tf.constant(np.random.default_rng(2).integers(0, 2, (4, 6)).astype("float32"))
    ours = SparseSoftmaxCrossEntropy(reduction=reduction)(labels, logits, sample_weight=sample_weight)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    np.testing.assert_allclose(ours, keras_loss(labels, logits, sample_weight=sample_weight), rtol=1e-5)


def test_labels_with_a_trailing_axis_are_accepted_and_the_loss_round_trips_its_config():
    logits, labels = _logits_and_labels((5,), classes=3, seed=3)
    loss = SparseSoftmaxCrossEntropy(reduction="sum")
    np.testing.assert_allclose(loss(labels[:, None], logits), loss(labels, logits), rtol=1e-6)
    clone = SparseSoftmaxCrossEntropy.from_config(loss.get_config())
    assert clone.reduction == "sum"


def test_xla_compiled_gradient_equals_the_eager_one():
    logits, labels = _logits_and_labels((6,), classes=13, seed=4)

    def gradient(values):
        with tf.GradientTape() as tape:
            tape.watch(values)
            loss = tf.reduce_mean(sparse_softmax_cross_entropy(labels, values))
        return tape.gradient(loss, values)

    np.testing.assert_allclose(tf.function(gradient, jit_compile=True)(logits), gradient(logits), atol=1e-6)
