"""`train_sentencepiece`: the one way albert-tfx trains a vocabulary, deterministic and checked."""

import pytest
import sentencepiece

from text_contract import normalization, sentencepiece_training as training

LINES = [normalization.normalize(f"{a} {b} {c}.") for a in ("A quiet", "The loud", "Ein kleiner", "一个")
         for b in ("house", "river", "mountain", "城市") for c in ("stood there", "was seen", "stayed", "很好")]


def test_the_same_lines_and_seed_give_the_same_model_bytes():
    first = training.train_sentencepiece(LINES, vocab_size=60, character_coverage=1.0, seed=3)
    assert training.train_sentencepiece(LINES, vocab_size=60, character_coverage=1.0, seed=3) == first
    processor = sentencepiece.SentencePieceProcessor(model_proto=first)
    # The identity rule: SentencePiece does not normalize again, so pieces join back to the line.
    assert all(processor.decode(processor.encode(line)) == line for line in LINES)


def test_vocab_text_lists_every_piece_with_its_score():
    model = training.train_sentencepiece(LINES, vocab_size=50, character_coverage=1.0)
    rows = training.vocab_text(model).splitlines()
    assert len(rows) == sentencepiece.SentencePieceProcessor(model_proto=model).get_piece_size()
    assert rows[0].split("\t")[0] == "<pad>" and rows[4].split("\t")[0] == "[MASK]"


def test_bad_options_and_too_little_text_are_errors_naming_them():
    with pytest.raises(ValueError, match="model_type must be one of"):
        training.train_sentencepiece(LINES, model_type="word")
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 6"):
        training.train_sentencepiece(LINES, vocab_size=5)
    with pytest.raises(ValueError, match=r"character_coverage must be in \(0, 1\]"):
        training.train_sentencepiece(LINES, character_coverage=1.5)
    with pytest.raises(ValueError, match="could not train a unigram model of 8000 pieces on 0 lines"):
        training.train_sentencepiece([])


def test_the_defaults_suit_data_we_have_not_seen():
    options = training.trainer_options()
    assert options["vocab_size"] == training.DEFAULT_VOCAB_SIZE == 8000
    assert options["character_coverage"] == 0.9995  # Chinese and Japanese as well as small alphabets
    assert options["normalization_rule_name"] == "identity" and options["remove_extra_whitespaces"] is False
