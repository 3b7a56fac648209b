"""PretrainingDataGen's parameters: defaults (GenerationConfig's), checks that name the parameter."""

import pytest

from components.pretraining_data import generation, spec


def test_defaults_are_the_generation_configs_and_fill_in_what_is_missing():
    params = spec.resolve_parameters({"max_seq_length": 64, "masked_lm_prob": 0})
    assert params["max_seq_length"] == 64 and params["masked_lm_prob"] == 0.0
    assert set(params) == set(spec.DEFAULTS) and params[spec.NUM_SHARDS_KEY] == spec.DEFAULTS[spec.NUM_SHARDS_KEY]
    config = generation.GenerationConfig(**spec.generation_kwargs(spec.resolve_parameters({})))
    assert config == generation.GenerationConfig()  # vocab_size aside, which the model decides
    assert set(spec.generation_kwargs(params)) == set(spec.GENERATION_FIELDS)


@pytest.mark.parametrize("values, name", [
    ({"max_seq_length": 4}, "max_seq_length"),
    ({"masked_lm_prob": 1.5}, "masked_lm_prob"),
    ({"dupe_factor": 0}, "dupe_factor"),
    ({spec.NUM_SHARDS_KEY: 0}, spec.NUM_SHARDS_KEY),
    ({spec.MAX_DOCUMENT_CHARS_KEY: 2.5}, spec.MAX_DOCUMENT_CHARS_KEY),
])
def test_a_bad_value_names_its_parameter(values, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        spec.resolve_parameters(values)
