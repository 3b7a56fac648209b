"""keras-hub `AlbertBackbone` weights translated to the original layout."""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from trainer.checkpoints.original import EMBEDDINGS, MAPPING_IN, POOLER, WeightImportError, group_prefix
from trainer.config import AlbertConfig


def config_from_keras_hub(backbone) -> AlbertConfig:
    # keras-hub's ALBERT uses the tanh GELU and LayerNorm epsilon 1e-12, as the original.
    return AlbertConfig(
        vocab_size=backbone.vocabulary_size,
        embedding_size=backbone.embedding_dim,
        hidden_size=backbone.hidden_dim,
        num_hidden_layers=backbone.num_layers,
        num_hidden_groups=backbone.num_groups,
        inner_group_num=backbone.num_inner_repetitions,
        num_attention_heads=backbone.num_heads,
        intermediate_size=backbone.intermediate_dim,
        hidden_act="gelu",
        hidden_dropout_prob=backbone.dropout,
        attention_probs_dropout_prob=backbone.dropout,
        max_position_embeddings=backbone.max_sequence_length,
        type_vocab_size=backbone.num_segments,
    )


def original_from_keras_hub(backbone) -> Dict[str, np.ndarray]:
    """The weights of a keras-hub `AlbertBackbone` in the original layout."""
    hidden = backbone.hidden_dim

    def value(variable) -> np.ndarray:
        return np.asarray(variable.numpy(), dtype=np.float32)

    out = {
        f"{EMBEDDINGS}/word_embeddings": value(backbone.token_embedding.embeddings),
        f"{EMBEDDINGS}/position_embeddings": value(backbone.position_embedding.position_embeddings),
        f"{EMBEDDINGS}/token_type_embeddings": value(backbone.segment_embedding.embeddings),
        f"{EMBEDDINGS}/LayerNorm/gamma": value(backbone.embeddings_layer_norm.gamma),
        f"{EMBEDDINGS}/LayerNorm/beta": value(backbone.embeddings_layer_norm.beta),
        f"{MAPPING_IN}/kernel": value(backbone.embeddings_projection.kernel),
        f"{MAPPING_IN}/bias": value(backbone.embeddings_projection.bias),
        f"{POOLER}/kernel": value(backbone.pooled_dense.kernel),
        f"{POOLER}/bias": value(backbone.pooled_dense.bias),
    }
    for group, inner_layers in enumerate(backbone.transformer_layers):
        for inner, layer in enumerate(inner_layers):
            prefix = group_prefix(group, inner)
            attention = layer._self_attention_layer
            for part, dense in (("query", attention._query_dense), ("key", attention._key_dense),
                                ("value", attention._value_dense)):
                # EinsumDense kernels are [hidden, heads, head_size]; the original is [hidden, hidden].
                out[f"{prefix}/attention_1/self/{part}/kernel"] = value(dense.kernel).reshape(hidden, hidden)
                out[f"{prefix}/attention_1/self/{part}/bias"] = value(dense.bias).reshape(hidden)
            out[f"{prefix}/attention_1/output/dense/kernel"] = value(attention._output_dense.kernel).reshape(hidden, hidden)
            out[f"{prefix}/attention_1/output/dense/bias"] = value(attention._output_dense.bias)
            out[f"{prefix}/LayerNorm/gamma"] = value(layer._self_attention_layer_norm.gamma)
            out[f"{prefix}/LayerNorm/beta"] = value(layer._self_attention_layer_norm.beta)
            out[f"{prefix}/ffn_1/intermediate/dense/kernel"] = value(layer._feedforward_intermediate_dense.kernel)
            out[f"{prefix}/ffn_1/intermediate/dense/bias"] = value(layer._feedforward_intermediate_dense.bias)
            out[f"{prefix}/ffn_1/intermediate/output/dense/kernel"] = value(layer._feedforward_output_dense.kernel)
            out[f"{prefix}/ffn_1/intermediate/output/dense/bias"] = value(layer._feedforward_output_dense.bias)
            out[f"{prefix}/LayerNorm_1/gamma"] = value(layer._feedforward_layer_norm.gamma)
            out[f"{prefix}/LayerNorm_1/beta"] = value(layer._feedforward_layer_norm.beta)
    return out


def read_keras_hub(src) -> Tuple[AlbertConfig, Dict[str, np.ndarray]]:
    """Reads a keras-hub `AlbertBackbone`: a preset directory (`config.json` + `model.weights.h5`) or a model."""
    import keras_hub

    if isinstance(src, keras_hub.models.AlbertBackbone):
        backbone = src
    else:
        try:
            backbone = keras_hub.models.AlbertBackbone.from_preset(str(src))
        except Exception as error:
            raise WeightImportError(f"{src}: cannot load a keras-hub AlbertBackbone preset ({error})") from None
    return config_from_keras_hub(backbone), original_from_keras_hub(backbone)
