"""`AlbertSelfAttention`: ALBERT's attention sublayer (self-attention, output projection, residual, LayerNorm)."""

import keras
import tensorflow as tf
from keras import ops

# Added to attention scores at padding positions, in float32.
_PADDING_BIAS = -1e9


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertSelfAttention(keras.layers.Layer):
    """Post-LayerNorm multi-head self-attention block, as one shareable unit.

    keras-hub's `TransformerEncoder` bundles attention with the feed-forward block, so it cannot express
    ALBERT's attention-only or FFN-only sharing (paper, Table 4); this layer is the attention half.
    Query, key and value are one fused `EinsumDense` (kernel `[hidden, 3, heads, head_size]`): one matmul
    instead of three (the attention block's forward + backward measured ~10% faster than keras-hub's
    separate projections at base shapes on CPU; see benchmarks/).
    """

    def __init__(
        self,
        hidden_size,
        num_heads,
        attention_dropout=0.0,
        hidden_dropout=0.0,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(f"num_heads={num_heads} does not divide hidden_size={hidden_size}")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_size = hidden_size // num_heads
        self.attention_dropout = attention_dropout
        self.hidden_dropout = hidden_dropout
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range

        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.query_key_value = keras.layers.EinsumDense(
            "bsi,ithd->bsthd",
            output_shape=(None, 3, num_heads, self.head_size),
            bias_axes="thd",
            kernel_initializer=initializer,
            dtype=self.dtype_policy,
            name="query_key_value",
        )
        self.output_dense = keras.layers.EinsumDense(
            "bshd,hdo->bso",
            output_shape=(None, hidden_size),
            bias_axes="o",
            kernel_initializer=initializer,
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.probs_dropout = keras.layers.Dropout(attention_dropout, dtype=self.dtype_policy)
        self.output_dropout = keras.layers.Dropout(hidden_dropout, dtype=self.dtype_policy)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm"
        )

    def build(self, hidden_states_shape, padding_mask_shape=None, query_positions_shape=None):
        self.query_key_value.build(hidden_states_shape)
        self.output_dense.build((*hidden_states_shape[:2], self.num_heads, self.head_size))
        self.layer_norm.build(hidden_states_shape)
        self.built = True

    def call(self, hidden_states, padding_mask, query_positions=None, training=None):
        """`padding_mask`: int `[batch, seq]`, 1 for real tokens. An integer so Keras does not autocast it: the
        padding bias must stay float32 (in float16 it would be -inf, and a fully padded row NaN).

        `query_positions` (int `[batch, num_queries]`, optional): compute the output only at these positions,
        attending over the whole sequence; the result is `[batch, num_queries, hidden]`. The last layer of a
        model that reads a few positions (the MLM predictions, the [CLS] token) needs nothing else.
        """
        attention_bias = ((1.0 - ops.cast(padding_mask, "float32")) * _PADDING_BIAS)[:, None, None, :]
        if query_positions is None:
            # unstack, not three strided slices: each slice's gradient is a full-size StridedSliceGrad, which
            # made the training step ~10% slower than keras-hub's; unstack's gradient is a single stack.
            query, key, value = ops.unstack(self.query_key_value(hidden_states), 3, axis=2)
        else:
            # Keys and values at every position, queries (and the residual) only at the selected ones. The
            # fused kernel is `[hidden, 3, heads, head_size]`: index 0 is the query part, 1: keys and values.
            kernel = ops.cast(self.query_key_value.kernel, self.compute_dtype)
            bias = ops.cast(self.query_key_value.bias, self.compute_dtype)
            key, value = ops.unstack(ops.einsum("bsi,ithd->bsthd", hidden_states, kernel[:, 1:]) + bias[1:], 2, axis=2)
            # tf.gather, not ops.take_along_axis: keras-hub's MaskedLMHead notes the latter mishandles dynamic
            # shapes on the TensorFlow backend.
            hidden_states = tf.gather(hidden_states, query_positions, batch_dims=1)
            query = ops.einsum("bsi,ihd->bshd", hidden_states, kernel[:, 0]) + bias[0]
        # Scaling the queries (seq x head) is cheaper than scaling the scores (seq x seq).
        query = query * ops.cast(1.0 / (self.head_size**0.5), query.dtype)
        scores = ops.einsum("bqhd,bkhd->bhqk", query, key)
        # Softmax in float32 so that mixed precision neither overflows the padding bias nor loses mass.
        probs = ops.softmax(ops.cast(scores, "float32") + attention_bias, axis=-1)
        probs = self.probs_dropout(ops.cast(probs, self.compute_dtype), training=training)
        context = ops.einsum("bhqk,bkhd->bqhd", probs, value)
        attention_output = self.output_dropout(self.output_dense(context), training=training)
        return self.layer_norm(hidden_states + attention_output)

    def compute_output_shape(self, hidden_states_shape, padding_mask_shape=None, query_positions_shape=None):
        if query_positions_shape is not None:
            return (hidden_states_shape[0], query_positions_shape[1], hidden_states_shape[2])
        return hidden_states_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_size": self.hidden_size,
                "num_heads": self.num_heads,
                "attention_dropout": self.attention_dropout,
                "hidden_dropout": self.hidden_dropout,
                "layer_norm_eps": self.layer_norm_eps,
                "initializer_range": self.initializer_range,
            }
        )
        return config
