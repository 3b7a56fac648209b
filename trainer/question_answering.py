"""`AlbertQuestionAnswerer`: the encoder with a span head, the model that extractive question answering trains."""

import keras

from text_contract.features import PADDING_MASK
from trainer.encoder import AlbertEncoder, encoder_inputs
from trainer.heads import SpanHead
from text_contract.features import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS
from trainer.keras_compat import DistributedFitCompat

__all__ = ["AlbertQuestionAnswerer", "END_LOGITS", "NO_ANSWER_SCORE", "START_LOGITS"]


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertQuestionAnswerer(DistributedFitCompat, keras.Model):
    """`AlbertEncoder` + `SpanHead`: one window (question + a span of the context) in, answer span logits out.

    Inputs: the encoder's three, named as the Transform's window features (`MODEL_INPUTS`), int32
    `[batch, seq]`. Outputs: `start_logits` and `end_logits` `[batch, seq]` (padding positions at
    `trainer.heads.span.MASKED_LOGIT`), and with `with_no_answer` (SQuAD v2.0) `no_answer_score` `[batch]`
    (see `SpanHead`). Targets: the answer's first and last piece positions in the window (`START_POSITIONS`,
    `END_POSITIONS`), 0 ([CLS]) when the window holds no answer.
    """

    def __init__(self, encoder: AlbertEncoder, with_no_answer=False, **kwargs):
        self.encoder = encoder
        self.span_head = SpanHead(
            with_no_answer=with_no_answer,
            initializer_range=encoder.albert_config.initializer_range,
            dtype=encoder.dtype_policy,
            name="span_head",
        )
        inputs = encoder_inputs()
        # Every position is a candidate start or end: the encoder's last layer runs everywhere.
        sequence_output = encoder.encode(inputs)["sequence_output"]
        outputs = self.span_head(sequence_output, inputs[PADDING_MASK])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.with_no_answer = with_no_answer

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.layers.serialize(self.encoder),
            "with_no_answer": self.with_no_answer,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        return cls(**config)
