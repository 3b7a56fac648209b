"""Parameter counts from a config alone, without building (and initializing) the model."""

from trainer.config import AlbertConfig


def _dense(inputs: int, outputs: int) -> int:
    return inputs * outputs + outputs


def count_encoder_parameters(config: AlbertConfig) -> int:
    """Parameters of `AlbertEncoder(config)`, pooler included; equals `model.count_params()` (tested)."""
    e, h = config.embedding_size, config.hidden_size
    embeddings = (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * e + 2 * e
    projection = _dense(e, h)
    attention_block = 4 * _dense(h, h) + 2 * h
    ffn_block = _dense(h, config.intermediate_size) + _dense(config.intermediate_size, h) + 2 * h
    attention_blocks = {
        config.attention_block_key(layer, inner)
        for layer in range(config.num_hidden_layers)
        for inner in range(config.inner_group_num)
    }
    ffn_blocks = {
        config.ffn_block_key(layer, inner)
        for layer in range(config.num_hidden_layers)
        for inner in range(config.inner_group_num)
    }
    pooler = _dense(h, h)
    return embeddings + projection + len(attention_blocks) * attention_block + len(ffn_blocks) * ffn_block + pooler
