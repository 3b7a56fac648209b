"""SentencePieceVocab's parameters: defaults from the trainer's module, checks that name the parameter."""

import pytest

from components.sentencepiece_vocab import spec
from text_contract import sentencepiece_training


def test_the_trainer_settings_default_to_text_contract_sentencepiece_training():
    params = spec.resolve_parameters({spec.TEXT_FEATURES_KEY: '["sentence"]'})
    assert params[spec.TEXT_FEATURES_KEY] == ["sentence"] and params[spec.SPLITS_KEY] == ["train"]
    assert (params[spec.VOCAB_SIZE_KEY], params[spec.MODEL_TYPE_KEY], params[spec.CHARACTER_COVERAGE_KEY],
            params[spec.NUM_THREADS_KEY], params[spec.SEED_KEY], params[spec.MAX_SENTENCE_CHARS_KEY]) == (
        sentencepiece_training.DEFAULT_VOCAB_SIZE, sentencepiece_training.DEFAULT_MODEL_TYPE,
        sentencepiece_training.DEFAULT_CHARACTER_COVERAGE, sentencepiece_training.DEFAULT_NUM_THREADS,
        sentencepiece_training.DEFAULT_SEED, sentencepiece_training.DEFAULT_MAX_SENTENCE_CHARS)
    assert spec.MODEL_TYPES == sentencepiece_training.MODEL_TYPES
    smallest = {spec.TEXT_FEATURES_KEY: ["t"], spec.VOCAB_SIZE_KEY: sentencepiece_training.MIN_VOCAB_SIZE}
    assert spec.resolve_parameters(smallest)[spec.VOCAB_SIZE_KEY] == sentencepiece_training.MIN_VOCAB_SIZE


@pytest.mark.parametrize("values, key", [
    ({spec.VOCAB_SIZE_KEY: sentencepiece_training.MIN_VOCAB_SIZE - 1}, spec.VOCAB_SIZE_KEY),
    ({spec.VOCAB_SIZE_KEY: 8000.0}, spec.VOCAB_SIZE_KEY),
    ({spec.MODEL_TYPE_KEY: "word"}, spec.MODEL_TYPE_KEY),
    ({spec.CHARACTER_COVERAGE_KEY: 0.0}, spec.CHARACTER_COVERAGE_KEY),
    ({spec.HELDOUT_FRACTION_KEY: 1.0}, spec.HELDOUT_FRACTION_KEY),
    ({spec.NUM_THREADS_KEY: 0}, spec.NUM_THREADS_KEY),
    ({spec.SPLITS_KEY: []}, spec.SPLITS_KEY),
    ({spec.REUSE_MODEL_GLOB_KEY: 3}, spec.REUSE_MODEL_GLOB_KEY),
])
def test_a_bad_value_names_its_parameter(values, key):
    with pytest.raises(ValueError, match=rf"^{key} "):
        spec.resolve_parameters({spec.TEXT_FEATURES_KEY: ["sentence"], **values})
