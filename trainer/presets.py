"""Named encoder shapes: the released ALBERT v2 configs plus `tiny` for tests and laptops."""

from typing import Dict

from trainer.config import AlbertConfig, ConfigError

PRESETS: Dict[str, AlbertConfig] = {
    # Small enough to train on 2 CPU cores in minutes; used by `make run`, the tests and the benchmarks.
    "tiny": AlbertConfig(
        embedding_size=64,
        hidden_size=128,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=512,
    ),
    # The released v2 shapes (google-research/albert albert_config.json files).
    "base": AlbertConfig(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072
    ),
    "large": AlbertConfig(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
    ),
    "xlarge": AlbertConfig(
        hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, intermediate_size=8192
    ),
    "xxlarge": AlbertConfig(
        hidden_size=4096, num_hidden_layers=12, num_attention_heads=64, intermediate_size=16384
    ),
}

# Parameter counts of the released checkpoints (encoder with pooler, vocabulary 30,000), for `info`.
RELEASED_PARAMETER_COUNTS = {
    "base": 11_700_000,
    "large": 17_700_000,
    "xlarge": 58_700_000,
    "xxlarge": 222_600_000,
}


def get_preset(name: str) -> AlbertConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
