"""`bias_add` and `Dense`: dense layers whose gradients are single 2-D matmuls.

- **The kernel.** `keras.layers.Dense` on a `[batch, seq, in]` input multiplies the 3-D tensor (a batched
  matmul broadcast over the batch), so the kernel's gradient is `batch` separate products, each
  `[in, seq] x [seq, out]`, written out whole and then summed. `Dense` here flattens the input to
  `[batch * seq, in]`: one matmul for the output, one for the kernel gradient. At `base` shapes that
  gradient was the largest op of a training step (16 x 768 x 3072 floats per FFN layer, profiled).
- **The bias.** A bias's gradient sums the upstream gradient over every leading axis. XLA's CPU backend
  turns that column reduction into windowed partial sums: 2.2 ms per FFN layer and 7 ms for the MLM
  decoder's 30,000-wide bias in a `tiny` training step (profiled), where `ones[1, rows] @ grads` takes
  oneDNN a fraction of that. Without XLA it is on par with TF's BiasAddGrad (measured), so it is used
  unconditionally.
Values and gradients are the same sums as Keras'.
"""

import keras
import tensorflow as tf
from keras import ops


@tf.custom_gradient
def _bias_add(inputs, bias):
    def gradient(upstream):
        rows = tf.reshape(upstream, [-1, tf.size(bias)])
        ones = tf.ones([1, tf.shape(rows)[0]], rows.dtype)
        return upstream, tf.reshape(tf.matmul(ones, rows), tf.shape(bias))

    return inputs + bias, gradient


def bias_add(inputs, bias):
    """`inputs + bias`, `bias` broadcast over the leading axes of `inputs` (its shape is a suffix of theirs)."""
    # A tensor, not the variable: tf.custom_gradient would otherwise want the variable's gradient separately.
    return _bias_add(inputs, ops.cast(bias, inputs.dtype))


@keras.saving.register_keras_serializable(package="albert_tfx")
class Dense(keras.layers.Dense):
    """`keras.layers.Dense` (same variables, config and values) as one 2-D matmul and a `bias_add`."""

    def call(self, inputs, training=None):
        if self.lora_enabled or self.quantization_mode is not None or self.bias is None:
            return super().call(inputs, training=training)
        rows = tf.reshape(inputs, [-1, inputs.shape[-1]])
        outputs = bias_add(tf.matmul(rows, ops.cast(self.kernel, rows.dtype)), self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [self.units]], 0))
