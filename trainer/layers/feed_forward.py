"""`AlbertFeedForward`: ALBERT's feed-forward sublayer (dense, activation, dense, residual, LayerNorm)."""

import keras

from trainer import activations
from trainer.layers.dense import Dense


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertFeedForward(keras.layers.Layer):
    """Post-LayerNorm position-wise feed-forward block, shareable on its own (paper, Table 4)."""

    def __init__(
        self,
        hidden_size,
        intermediate_size,
        hidden_act="gelu",
        hidden_dropout=0.0,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range

        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.intermediate_dense = Dense(
            intermediate_size,
            activation=activations.get(hidden_act),
            kernel_initializer=initializer,
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.output_dense = Dense(
            hidden_size, kernel_initializer=initializer, dtype=self.dtype_policy, name="output_dense"
        )
        self.output_dropout = keras.layers.Dropout(hidden_dropout, dtype=self.dtype_policy)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm"
        )

    def build(self, hidden_states_shape):
        self.intermediate_dense.build(hidden_states_shape)
        self.output_dense.build((*hidden_states_shape[:-1], self.intermediate_size))
        self.layer_norm.build(hidden_states_shape)
        self.built = True

    def call(self, hidden_states, training=None):
        ffn_output = self.output_dense(self.intermediate_dense(hidden_states))
        ffn_output = self.output_dropout(ffn_output, training=training)
        return self.layer_norm(hidden_states + ffn_output)

    def compute_output_shape(self, hidden_states_shape):
        return hidden_states_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_size": self.hidden_size,
                "intermediate_size": self.intermediate_size,
                "hidden_act": self.hidden_act,
                "hidden_dropout": self.hidden_dropout,
                "layer_norm_eps": self.layer_norm_eps,
                "initializer_range": self.initializer_range,
            }
        )
        return config
