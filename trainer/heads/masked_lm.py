"""`AlbertMaskedLMHead`: dense H→E, activation, LayerNorm, decoder tied to the word embeddings, output bias."""

import keras
from keras_hub.layers import MaskedLMHead

from trainer import activations
from trainer.config import AlbertConfig


@keras.saving.register_keras_serializable(package="albert_tfx")
class AlbertMaskedLMHead(MaskedLMHead):
    """keras-hub's `MaskedLMHead` with ALBERT's choices fixed from an `AlbertConfig`.

    The intermediate dense maps H to E (the token embedding's width) so the decoder can reuse the V x E word
    matrix transposed: ALBERT ties them. Call with `(sequence_output, mask_positions)`; the logits come
    back for those positions only, `[batch, num_predictions, vocab]`.
    """

    @classmethod
    def from_albert_config(cls, config: AlbertConfig, token_embedding, **kwargs) -> "AlbertMaskedLMHead":
        return cls(
            token_embedding=token_embedding,
            intermediate_activation=activations.get(config.hidden_act),
            layer_norm_epsilon=config.layer_norm_eps,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_range),
            **kwargs,
        )
