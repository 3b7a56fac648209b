"""`ClassificationHead`: N-way logits from the pooled output, for fine-tuning."""

import keras


@keras.saving.register_keras_serializable(package="albert_tfx")
class ClassificationHead(keras.layers.Layer):
    """Dropout then a dense to `num_classes` logits (softmax belongs to the loss and the serving graph)."""

    def __init__(self, num_classes, dropout=0.1, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.num_classes = num_classes
        self.dropout = dropout
        self.initializer_range = initializer_range
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, pooled_output_shape):
        self.dense.build(pooled_output_shape)
        self.built = True

    def call(self, pooled_output, training=None):
        return self.dense(self.dropout_layer(pooled_output, training=training))

    def compute_output_shape(self, pooled_output_shape):
        return (*pooled_output_shape[:-1], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_classes": self.num_classes, "dropout": self.dropout, "initializer_range": self.initializer_range}
        )
        return config
