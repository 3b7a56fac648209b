"""The ALBERT pretraining-data method (components/pretraining_data/generation.py), without Beam.

Synthetic documents use ids that tell their own word structure: ids below CONTINUATION start a word,
ids from CONTINUATION up continue the previous word. The statistical checks run over a few thousand
instances with fixed seeds (so they are deterministic, not flaky); each tolerance is several standard
deviations of the sampling error, widened where the method itself shifts a distribution (said there).
"""

import hashlib

import numpy as np
import pytest

from components.pretraining_data import generation as g
from tests import support
from text_contract.features import (
    INPUT_IDS, INPUT_MASK, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, PRETRAINING_FEATURES,
    SEGMENT_IDS, SENTENCE_ORDER_KEPT, SENTENCE_ORDER_LABEL, SENTENCE_ORDER_SWAPPED
)
from text_contract.pieces import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID, WORD_BOUNDARY

CONTINUATION = 600
VOCAB = 1000
SPECIALS = {PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID}


def synthetic_document(rng, num_sentences, min_words=3, max_words=30):
    sentences = []
    for _ in range(num_sentences):
        ids, starts = [], []
        for _ in range(int(rng.integers(min_words, max_words + 1))):
            pieces = int(rng.choice([1, 1, 1, 2, 2, 3]))
            ids.append(int(rng.integers(g.FIRST_REGULAR_ID, CONTINUATION)))
            ids.extend(int(rng.integers(CONTINUATION, VOCAB)) for _ in range(pieces - 1))
            starts.extend([True] + [False] * (pieces - 1))
        sentences.append(g.make_sentence(ids, word_starts=starts))
    return sentences


@pytest.fixture(scope="module")
def corpus():
    """~3,000 instances from 600 synthetic documents with the default (ALBERT) settings."""
    rng = np.random.default_rng(2024)
    config = g.GenerationConfig(vocab_size=VOCAB)
    instances = []
    for index in range(600):
        document = synthetic_document(rng, int(rng.integers(1, 40)))
        for dupe in g.generate(document, config, f"doc-{index}"):
            instances.extend(dupe)
    return config, instances


def test_corpus_is_big_enough_for_the_statistics(corpus):
    assert len(corpus[1]) >= 2500


def test_about_15_percent_of_tokens_are_predicted(corpus):
    config, instances = corpus
    tokens = sum(i.num_tokens for i in instances)
    predictions = sum(len(i.masked_lm_positions) for i in instances)
    # The budget is round(0.15 * tokens) per instance; whole words that would overshoot it are
    # skipped, so the realised fraction sits at or a little under 15%.
    assert 0.14 <= predictions / tokens <= 0.1525, predictions / tokens
    for instance in instances:
        budget = min(config.max_predictions_per_seq, max(1, int(np.floor(instance.num_tokens * 0.15 + 0.5))))
        assert 1 <= len(instance.masked_lm_positions) <= budget
    full = np.mean([len(i.masked_lm_positions) == min(20, max(1, int(np.floor(i.num_tokens * 0.15 + 0.5))))
                    for i in instances])
    assert full > 0.9, full


def test_ngram_lengths_follow_one_over_n(corpus):
    _, instances = corpus
    expected = (1 / np.arange(1, 4)) / (1 / np.arange(1, 4)).sum()  # 6/11, 3/11, 2/11
    # What the method guarantees: n is drawn with p(n) ∝ 1/n wherever 3 words are left in the segment.
    drawn = np.array([n for i in instances for n, possible in i.ngram_draws if possible == 3])
    assert len(drawn) > 15000
    drawn_freq = np.bincount(drawn, minlength=4)[1:] / len(drawn)
    np.testing.assert_allclose(drawn_freq, expected, atol=0.015)  # sampling sd < 0.004
    # What lands in the data: a drawn span that would overshoot the budget is shortened and one that
    # overlaps an earlier span is dropped; both favour short spans, so the realised histogram keeps
    # the 1/n order but moves some mass to n = 1 (measured: about 0.64 / 0.24 / 0.12).
    accepted = np.array([n for i in instances for n in i.ngram_lengths])
    freq = np.bincount(accepted, minlength=4)[1:] / len(accepted)
    assert freq[0] > freq[1] > freq[2] > 0.08, freq
    assert expected[0] <= freq[0] <= expected[0] + 0.12, freq
    assert expected[2] - 0.08 <= freq[2] <= expected[2], freq


def test_replacement_is_80_10_10(corpus):
    _, instances = corpus
    kinds = np.concatenate([i.replacements for i in instances])
    np.testing.assert_allclose(np.bincount(kinds, minlength=3) / len(kinds), [0.8, 0.1, 0.1], atol=0.015)
    # The same, seen from the output only (a random id equal to the original counts as kept).
    masked = np.concatenate([i.input_ids[i.masked_lm_positions] for i in instances])
    original = np.concatenate([i.masked_lm_ids for i in instances])
    as_mask = np.mean(masked == MASK_ID)
    as_kept = np.mean(masked == original)
    assert abs(as_mask - 0.8) < 0.015 and abs(as_kept - 0.1) < 0.015
    assert abs(1 - as_mask - as_kept - 0.1) < 0.015
    assert masked.min() >= MASK_ID  # random replacements are never <pad>/<unk>/[CLS]/[SEP]
    random_ids = masked[(masked != MASK_ID) & (masked != original)]
    assert random_ids.min() >= g.FIRST_REGULAR_ID and random_ids.max() < VOCAB


def test_sentence_order_is_swapped_for_half_the_pairs(corpus):
    _, instances = corpus
    labels = np.array([i.sentence_order_label for i in instances])
    assert set(labels.tolist()) == {SENTENCE_ORDER_KEPT, SENTENCE_ORDER_SWAPPED}
    assert abs(np.mean(labels == SENTENCE_ORDER_SWAPPED) - 0.5) < 0.03  # sd ~0.009


def test_whole_words_are_masked_and_specials_never(corpus):
    _, instances = corpus
    for instance in instances:
        original = instance.original_ids()
        positions = set(instance.masked_lm_positions.tolist())
        assert list(instance.masked_lm_positions) == sorted(positions)
        special_positions = {0, instance.num_tokens - 1, int(np.argmax(instance.segment_ids)) - 1}
        assert all(original[p] in (CLS_ID, SEP_ID) for p in special_positions)
        assert not positions & special_positions
        assert not set(instance.masked_lm_ids.tolist()) & SPECIALS
        # Words: a start id and the continuation ids after it, never across [SEP].
        word_of, word = {}, -1
        for position, token in enumerate(original.tolist()):
            if position in special_positions:
                word += 1
                continue
            if token < CONTINUATION or (position - 1) in special_positions:
                word += 1
            word_of[position] = word
        masked_words = {word_of[p] for p in positions}
        for position, w in word_of.items():
            assert (position in positions) == (w in masked_words), (instance, position)


def test_features_are_padded_and_named_by_the_text_contract(corpus):
    config, instances = corpus
    for instance in instances[:200]:
        features = g.to_features(instance, config)
        assert tuple(sorted(features)) == tuple(sorted(PRETRAINING_FEATURES))
        n, k = instance.num_tokens, len(instance.masked_lm_positions)
        assert features[INPUT_IDS].shape == (128,) and features[MASKED_LM_IDS].shape == (20,)
        assert features[INPUT_MASK].tolist() == [1] * n + [0] * (128 - n)
        assert not features[INPUT_IDS][n:].any() and not features[SEGMENT_IDS][n:].any()
        assert features[MASKED_LM_WEIGHTS].tolist() == [1.0] * k + [0.0] * (20 - k)
        assert not features[MASKED_LM_POSITIONS][k:].any()
        assert features[SENTENCE_ORDER_LABEL].shape == (1,)


def test_serialization_matches_tensorflow_byte_for_byte(corpus):
    import tensorflow as tf

    config, instances = corpus
    for instance in instances[:20]:
        features = g.to_features(instance, config)
        example = tf.train.Example()
        for name, values in features.items():
            kind = "float_list" if values.dtype == np.float32 else "int64_list"
            getattr(example.features.feature[name], kind).value.extend(values.tolist())
        assert g.serialize_features(features) == example.SerializeToString(deterministic=True)
    big = {"a": np.array([0, 127, 128, 2**31, 2**40]), "b": np.array([], dtype=np.int64)}
    example = tf.train.Example()
    example.features.feature["a"].int64_list.value.extend(big["a"].tolist())
    example.features.feature["b"].int64_list.SetInParent()
    assert g.serialize_features(big) == example.SerializeToString(deterministic=True)


# ------------------------------------------------------------------------------------------------
# google-research/albert#234 and #256


def test_a_one_sentence_document_yields_no_sop_instance():  # albert#234
    rng = np.random.default_rng(0)
    config = g.GenerationConfig(vocab_size=VOCAB, dupe_factor=3)
    for index in range(50):
        document = synthetic_document(rng, 1, min_words=1, max_words=200)  # short and over-long
        assert g.generate(document, config, f"one-{index}") == [[], [], []]


def test_every_chunk_has_two_sentences_and_the_tail_is_kept():  # albert#234 and #256
    rng = np.random.default_rng(1)
    for _ in range(2000):
        lengths = rng.integers(1, 60, size=int(rng.integers(1, 30))).tolist()
        target = int(rng.integers(2, 126))
        chunks = g.plan_chunks(lengths, target)
        if len(lengths) == 1:
            assert chunks == []
            continue
        assert [i for chunk in chunks for i in chunk] == list(range(len(lengths)))
        assert all(len(chunk) >= 2 for chunk in chunks)
        for chunk in chunks[:-2]:  # only the last two may have been re-balanced
            assert sum(lengths[i] for i in chunk) >= target


def test_every_piece_of_a_document_lands_in_an_instance():  # albert#256
    # Sentences of 10 pieces and room for 40: chunks close at exactly 40, so nothing is truncated and
    # every piece must appear exactly once, in order, whatever the number of sentences (1 left over,
    # 2, 3 ... are all tails the original code could lose).
    config = g.GenerationConfig(max_seq_length=43, short_seq_prob=0.0, dupe_factor=1, vocab_size=10**6)
    for num_sentences in range(2, 15):
        ids = np.arange(5, 5 + 10 * num_sentences)
        document = [g.make_sentence(ids[i:i + 10], word_starts=[True] * 10) for i in range(0, len(ids), 10)]
        instances = g.generate(document, config, f"doc{num_sentences}")[0]
        seen = []
        for instance in instances:
            assert instance.truncated == 0
            original = instance.original_ids()
            segments = [original[1:np.argmax(instance.segment_ids) - 1], original[np.argmax(instance.segment_ids):-1]]
            if instance.sentence_order_label == SENTENCE_ORDER_SWAPPED:
                segments.reverse()
            seen.extend(np.concatenate(segments).tolist())
        assert seen == ids.tolist(), num_sentences


def test_only_truncation_loses_pieces():
    rng = np.random.default_rng(3)
    for short_seq_prob in (0.0, 0.1, 1.0):
        config = g.GenerationConfig(vocab_size=VOCAB, short_seq_prob=short_seq_prob)
        for index in range(100):
            document = synthetic_document(rng, int(rng.integers(2, 30)), max_words=60)
            total = sum(len(ids) for ids, _ in document)
            instances = g.generate(document, config, f"d{index}")[0]
            assert instances
            assert sum(i.num_tokens - 3 + i.truncated for i in instances) == total
            assert all(i.num_tokens <= config.max_seq_length for i in instances)


def test_truncation_is_longest_first():
    for a in range(1, 40):
        for b in range(1, 40):
            for m in (2, 5, 17, 30, 60):
                assert g.truncated_lengths(a, b, m) == support.truncate_one_at_a_time(a, b, m)


# ------------------------------------------------------------------------------------------------
# Determinism, helpers, validation


def test_randomness_comes_from_seed_and_document_only():
    document = synthetic_document(np.random.default_rng(5), 12)
    config = g.GenerationConfig(vocab_size=VOCAB, dupe_factor=2)

    def digest(cfg, key):
        return hashlib.sha256(b"".join(g.serialize_instance(i, cfg) for dupe in g.generate(document, cfg, key)
                                       for i in dupe)).hexdigest()

    first = digest(config, "k")
    assert digest(config, "k") == first
    assert digest(g.GenerationConfig(vocab_size=VOCAB, dupe_factor=2, seed=1), "k") != first
    assert digest(config, "other") != first
    passes = g.generate(document, config, "k")
    assert [i.input_ids.tolist() for i in passes[0]] != [i.input_ids.tolist() for i in passes[1]]
    # A golden value: changing the RNG derivation or the method changes the data (numpy 1.26).
    assert first == GOLDEN_DIGEST


GOLDEN_DIGEST = "8e40819ad5710126950a1f4a1b29a74ecded8e00502b2e79a96f908451035849"


def test_split_sentences():
    assert g.split_sentences("One two. Three? Four!  Five") == ["One two.", "Three?", "Four!", "Five"]
    assert g.split_sentences('He said "stop." Then 3.5 left.\nNext line') == [
        'He said "stop."', "Then 3.5 left.", "Next line"]
    assert g.split_sentences("第一句。第二句！第三句") == ["第一句。", "第二句！", "第三句"]
    assert g.split_sentences("  \n\t ") == []
    assert g.split_sentences("no end") == ["no end"]


def test_word_starts():
    assert g.is_word_start(WORD_BOUNDARY + "the") and g.is_word_start(WORD_BOUNDARY)
    assert not g.is_word_start("ing") and not g.is_word_start(".")
    assert g.is_word_start("中") and g.is_word_start("国人")
    sentence = g.make_sentence([7, 8, 9], pieces=[WORD_BOUNDARY + "un", "believ", "able"])
    assert sentence[1].tolist() == [True, False, False]
    with pytest.raises(ValueError):
        g.make_sentence([7, 8], word_starts=[True])


@pytest.mark.parametrize("field, value", [
    ("max_seq_length", 4), ("short_seq_prob", 1.5), ("masked_lm_prob", -0.1),
    ("max_predictions_per_seq", 0), ("max_ngram", 0), ("dupe_factor", 0), ("vocab_size", 5)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        g.GenerationConfig(**{field: value})


def test_no_masking_when_masked_lm_prob_is_zero():
    document = synthetic_document(np.random.default_rng(9), 10)
    config = g.GenerationConfig(vocab_size=VOCAB, masked_lm_prob=0.0)
    for instance in g.generate(document, config, "z")[0]:
        assert len(instance.masked_lm_positions) == 0
        assert g.to_features(instance, config)[MASKED_LM_WEIGHTS].sum() == 0
