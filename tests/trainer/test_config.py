import json

import pytest

from trainer.config import AlbertConfig, ConfigError
from trainer.presets import PRESETS, get_preset


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"num_attention_heads": 5}, "num_attention_heads"),
        ({"hidden_act": "gelu_fancy"}, "hidden_act"),
        ({"num_hidden_groups": 13}, "num_hidden_groups"),
        ({"sharing": "some"}, "sharing"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob"),
        ({"layer_norm_eps": 0.0}, "layer_norm_eps"),
        ({"inner_group_num": 2.0}, "inner_group_num"),
    ],
)
def test_bad_values_raise_an_error_naming_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        AlbertConfig(**changes)


def test_reads_an_original_albert_config_json(tmp_path):
    # The v2 base file as google-research/albert ships it (no sharing, no epsilon, extra legacy fields).
    original = {
        "attention_probs_dropout_prob": 0, "hidden_act": "gelu", "hidden_dropout_prob": 0,
        "embedding_size": 128, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
        "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
        "num_hidden_groups": 1, "net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0,
        "inner_group_num": 1, "down_scale_factor": 1, "type_vocab_size": 2, "vocab_size": 30000,
    }
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps(original))
    config = AlbertConfig.from_json_file(str(path))
    assert config == get_preset("base")
    assert config.sharing == "all" and config.layer_norm_eps == 1e-12


def test_json_round_trip_keeps_every_field(tmp_path):
    config = AlbertConfig(num_hidden_groups=3, inner_group_num=2, sharing="ffn", hidden_act="relu")
    path = tmp_path / "sub" / "albert_config.json"
    config.to_json_file(str(path))
    assert AlbertConfig.from_json_file(str(path)) == config
    written = json.loads(path.read_text())
    assert written["num_hidden_groups"] == 3 and written["sharing"] == "ffn"


def test_unknown_and_bad_fields_in_a_file_name_the_file_and_field(tmp_path):
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps({"hidden_size": 768, "hiden_layers": 3}))
    with pytest.raises(ConfigError, match=r"albert_config.json.*hiden_layers"):
        AlbertConfig.from_json_file(str(path))
    path.write_text(json.dumps({"hidden_size": 100, "num_attention_heads": 12}))
    with pytest.raises(ConfigError, match=r"albert_config.json.*num_attention_heads"):
        AlbertConfig.from_json_file(str(path))
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        AlbertConfig.from_json_file(str(path))


def test_group_routing_follows_the_original_rule():
    config = AlbertConfig(num_hidden_layers=12, num_hidden_groups=4)
    assert [config.group_of_layer(layer) for layer in range(12)] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    uneven = AlbertConfig(num_hidden_layers=5, num_hidden_groups=2)
    assert [uneven.group_of_layer(layer) for layer in range(5)] == [0, 0, 0, 1, 1]


@pytest.mark.parametrize(
    "sharing, attention_blocks, ffn_blocks",
    [("all", 2, 2), ("attention", 2, 6), ("ffn", 6, 2), ("none", 6, 6)],
)
def test_sharing_decides_which_blocks_layers_share(sharing, attention_blocks, ffn_blocks):
    config = AlbertConfig(num_hidden_layers=6, num_hidden_groups=2, sharing=sharing)
    layers = range(config.num_hidden_layers)
    assert len({config.attention_block_key(layer, 0) for layer in layers}) == attention_blocks
    assert len({config.ffn_block_key(layer, 0) for layer in layers}) == ffn_blocks


def test_presets_are_valid_and_named():
    assert set(PRESETS) == {"tiny", "base", "large", "xlarge", "xxlarge"}
    assert get_preset("xxlarge").hidden_size == 4096
    with pytest.raises(ConfigError, match="unknown preset"):
        get_preset("huge")
