import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer.layers.dense import Dense, bias_add


@pytest.mark.parametrize("jit_compile", [False, True])
def test_bias_add_values_and_gradients_equal_plain_addition(jit_compile):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(size=(3, 4, 2, 5)).astype("float32"))
    bias = tf.Variable(rng.normal(size=(2, 5)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(3, 4, 2, 5)).astype("float32"))

    def gradients(add):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            total = tf.reduce_sum(add(inputs, bias) * upstream)
        return tape.gradient(total, [inputs, bias])

    ours = tf.function(lambda: gradients(bias_add), jit_compile=jit_compile)()
    reference = gradients(lambda x, b: x + b)
    np.testing.assert_allclose(bias_add(inputs, bias), inputs + bias, atol=1e-6)
    for got, expected in zip(ours, reference):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_dense_equals_keras_dense_with_the_same_weights_and_config():
    ours = Dense(6, activation="gelu", name="d")
    theirs = keras.layers.Dense(6, activation="gelu", name="d")
    inputs = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")
    ours.build(inputs.shape)
    theirs.build(inputs.shape)
    theirs.set_weights([w + 0.1 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(inputs), theirs(inputs), atol=1e-6)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert Dense.from_config(ours.get_config()).get_config() == ours.get_config()
