"""An independent numpy ALBERT forward pass over original-layout weights, for routing and parity checks.

Written from the paper and the original modeling code's structure, sharing nothing with `trainer/`.
"""

import numpy as np


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * gamma + beta


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def albert_forward(weights, config, token_ids, segment_ids, padding_mask):
    """(sequence_output, pooled_output) in float64, gelu = tanh approximation."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    length = token_ids.shape[1]
    x = (
        w["bert/embeddings/word_embeddings"][token_ids]
        + w["bert/embeddings/position_embeddings"][:length][None]
        + w["bert/embeddings/token_type_embeddings"][segment_ids]
    )
    eps = config.layer_norm_eps
    x = _layer_norm(x, w["bert/embeddings/LayerNorm/gamma"], w["bert/embeddings/LayerNorm/beta"], eps)
    x = x @ w["bert/encoder/embedding_hidden_mapping_in/kernel"] + w["bert/encoder/embedding_hidden_mapping_in/bias"]
    heads, size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
    bias = (1.0 - padding_mask[:, None, None, :]) * -10000.0
    batch = token_ids.shape[0]
    for layer in range(config.num_hidden_layers):
        group = int(layer * config.num_hidden_groups / config.num_hidden_layers)
        for inner in range(config.inner_group_num):
            p = f"bert/encoder/transformer/group_{group}/inner_group_{inner}/"

            def project(name, inputs):
                return inputs @ w[p + name + "/kernel"] + w[p + name + "/bias"]

            def split(t):
                return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

            q = split(project("attention_1/self/query", x))
            k = split(project("attention_1/self/key", x))
            v = split(project("attention_1/self/value", x))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
            x = _layer_norm(x + project("attention_1/output/dense", context), w[p + "LayerNorm/gamma"], w[p + "LayerNorm/beta"], eps)
            hidden = _gelu_tanh(project("ffn_1/intermediate/dense", x))
            x = _layer_norm(
                x + project("ffn_1/intermediate/output/dense", hidden), w[p + "LayerNorm_1/gamma"], w[p + "LayerNorm_1/beta"], eps
            )
    pooled = np.tanh(x[:, 0] @ w["bert/pooler/dense/kernel"] + w["bert/pooler/dense/bias"])
    return x, pooled
