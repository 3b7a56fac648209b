"""`AlbertClassifier`: the encoder with a classification head, the model that fine-tuning trains."""

import keras

from trainer.keras_compat import DistributedFitCompat

from trainer.encoder import AlbertEncoder, encoder_inputs
from trainer.heads import ClassificationHead


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertClassifier(DistributedFitCompat, keras.Model):
    """`AlbertEncoder` + `ClassificationHead`: the encoder's three inputs in, `logits` `[batch, num_classes]` out."""

    def __init__(self, encoder: AlbertEncoder, num_classes: int, dropout=0.1, **kwargs):
        self.encoder = encoder
        self.classification_head = ClassificationHead(
            num_classes,
            dropout=dropout,
            initializer_range=encoder.albert_config.initializer_range,
            dtype=encoder.dtype_policy,
            name="classification_head",
        )
        inputs = encoder_inputs()
        # The head reads [CLS] only, so the encoder's last layer runs at [CLS] only (`AlbertEncoder.encode`).
        logits = self.classification_head(encoder.encode(inputs, pooled_only=True)["pooled_output"])
        super().__init__(inputs=inputs, outputs={"logits": logits}, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.layers.serialize(self.encoder),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        return cls(**config)
