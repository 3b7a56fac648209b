"""`AlbertPretrainer`: the encoder with its MLM and SOP heads, the model that ALBERT pretraining trains."""

import keras

from trainer.keras_compat import DistributedFitCompat

from trainer.encoder import AlbertEncoder, encoder_inputs
from trainer.heads import AlbertMaskedLMHead, SentenceOrderHead


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertPretrainer(DistributedFitCompat, keras.Model):
    """`AlbertEncoder` + masked-LM head (decoder tied to the word embeddings) + sentence-order head.

    Inputs: the encoder's three plus `masked_lm_positions` (int32 `[batch, num_predictions]`).
    Outputs: `mlm_logits` `[batch, num_predictions, vocab]` and `sop_logits` `[batch, 2]`.
    """

    def __init__(self, encoder: AlbertEncoder, sop_dropout=0.0, **kwargs):
        config = encoder.albert_config
        self.encoder = encoder
        self.masked_lm_head = AlbertMaskedLMHead.from_albert_config(
            config, encoder.token_embedding, dtype=encoder.dtype_policy, name="masked_lm_head"
        )
        self.sentence_order_head = SentenceOrderHead(
            dropout=sop_dropout,
            initializer_range=config.initializer_range,
            dtype=encoder.dtype_policy,
            name="sentence_order_head",
        )

        inputs = encoder_inputs()
        inputs["masked_lm_positions"] = keras.Input(shape=(None,), dtype="int32", name="masked_lm_positions")
        # The heads read the masked positions and [CLS] only, so the encoder's last layer runs only there
        # (`AlbertEncoder.encode`) and hands the MLM head its predictions' hidden states already gathered.
        encoded = encoder.encode(inputs, output_positions=inputs["masked_lm_positions"])
        mlm_logits = self.masked_lm_head(encoded["sequence_output"])
        sop_logits = self.sentence_order_head(encoded["pooled_output"])
        super().__init__(inputs=inputs, outputs={"mlm_logits": mlm_logits, "sop_logits": sop_logits}, **kwargs)
        self.sop_dropout = sop_dropout

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.layers.serialize(self.encoder),
            "sop_dropout": self.sop_dropout,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        return cls(**config)
