"""`AlbertClassifier`: the encoder with a classification head, the model that fine-tuning trains."""

import keras
from keras import ops

from trainer.keras_compat import DistributedFitCompat

from trainer.encoder import AlbertEncoder, encoder_inputs
from trainer.heads import ClassificationHead
from trainer.training_config import POOLINGS


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertClassifier(DistributedFitCompat, keras.Model):
    """`AlbertEncoder` + `ClassificationHead`: the encoder's three inputs in, `logits` `[batch, num_classes]` out."""

    def __init__(self, encoder: AlbertEncoder, num_classes: int, dropout=0.1, pooling="cls", **kwargs):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.classification_head = ClassificationHead(
            num_classes,
            dropout=dropout,
            initializer_range=encoder.albert_config.initializer_range,
            dtype=encoder.dtype_policy,
            name="classification_head",
        )
        inputs = encoder_inputs()
        if pooling == "cls":
            # The head reads [CLS] only, so the encoder's last layer runs at [CLS] only (`AlbertEncoder.encode`).
            pooled_output = encoder.encode(inputs, pooled_only=True)["pooled_output"]
        else:
            sequence_output = encoder.encode(inputs)["sequence_output"]
            mask = ops.cast(ops.expand_dims(inputs["padding_mask"], -1), sequence_output.dtype)
            mean = ops.sum(sequence_output * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
            pooled_output = encoder.pooler(mean)
        logits = self.classification_head(pooled_output)
        super().__init__(inputs=inputs, outputs={"logits": logits}, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout
        self.pooling = pooling

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.layers.serialize(self.encoder),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "pooling": self.pooling,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        return cls(**config)
