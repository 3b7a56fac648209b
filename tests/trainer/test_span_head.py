import keras
import numpy as np
import pytest

from trainer.heads import SpanHead
from text_contract.features import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS
from trainer.heads.span import MASKED_LOGIT
from trainer.losses import sparse_softmax_cross_entropy


def _sequence_batch(batch=3, length=7, hidden=4, seed=0):
    rng = np.random.default_rng(seed)
    sequence_output = rng.normal(size=(batch, length, hidden)).astype("float32")
    lengths = np.linspace(length, 3, batch).astype(int)  # rows padded differently
    padding_mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
    return sequence_output, padding_mask


def test_logits_are_the_dense_per_position_and_padding_is_masked():
    sequence_output, padding_mask = _sequence_batch()
    head = SpanHead()
    outputs = head(sequence_output, padding_mask)
    assert set(outputs) == {START_LOGITS, END_LOGITS}
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in head.dense.weights)
    expected = sequence_output @ kernel + bias  # [batch, seq, 2]
    real = padding_mask == 1
    for index, name in enumerate((START_LOGITS, END_LOGITS)):
        logits = keras.ops.convert_to_numpy(outputs[name])
        assert logits.shape == padding_mask.shape
        np.testing.assert_allclose(logits[real], expected[..., index][real], atol=1e-6)
        assert (logits[~real] == MASKED_LOGIT).all() and np.isfinite(logits).all()
    # The masked positions get no probability, and the loss of a real position stays finite.
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(outputs[START_LOGITS], axis=-1))
    assert probabilities[~real].max() == 0.0
    losses = keras.ops.convert_to_numpy(sparse_softmax_cross_entropy(np.array([0, 1, 2]), outputs[START_LOGITS]))
    assert np.isfinite(losses).all()


def test_no_answer_score_is_the_cls_span_score():
    sequence_output, padding_mask = _sequence_batch()
    outputs = SpanHead(with_no_answer=True)(sequence_output, padding_mask)
    score = keras.ops.convert_to_numpy(outputs[NO_ANSWER_SCORE])
    assert score.shape == (3,)
    expected = keras.ops.convert_to_numpy(outputs[START_LOGITS][:, 0] + outputs[END_LOGITS][:, 0])
    np.testing.assert_allclose(score, expected)


def test_symbolic_shapes_match_the_computed_ones():
    head = SpanHead(with_no_answer=True)
    outputs = head(keras.Input((None, 4)), keras.Input((None,), dtype="int32"))
    assert {name: tuple(tensor.shape) for name, tensor in outputs.items()} == {
        START_LOGITS: (None, None), END_LOGITS: (None, None), NO_ANSWER_SCORE: (None,)}
    assert head.compute_output_shape((2, 5, 4))[NO_ANSWER_SCORE] == (2,)


def test_mixed_float16_keeps_the_masked_logits_finite():
    sequence_output, padding_mask = _sequence_batch()
    outputs = SpanHead(with_no_answer=True, dtype="mixed_float16")(sequence_output, padding_mask)
    for tensor in outputs.values():
        assert keras.ops.all(keras.ops.isfinite(tensor))
    losses = sparse_softmax_cross_entropy(np.array([0, 1, 2]), outputs[END_LOGITS])
    assert keras.ops.all(keras.ops.isfinite(losses))


def test_config_round_trips_and_bad_arguments_say_what_was_received():
    head = SpanHead(with_no_answer=True, initializer_range=0.05, name="span")
    clone = SpanHead.from_config(head.get_config())
    assert clone.get_config() == head.get_config()
    assert clone.with_no_answer is True and clone.initializer_range == 0.05
    assert keras.layers.deserialize(keras.layers.serialize(head)).get_config() == head.get_config()
    with pytest.raises(ValueError, match="with_no_answer must be True or False, got 'yes'"):
        SpanHead(with_no_answer="yes")
    with pytest.raises(ValueError, match="initializer_range must be a positive number, got 0"):
        SpanHead(initializer_range=0)
    with pytest.raises(ValueError, match=r"sequence_output must be \[batch, seq, hidden\], got shape \(3, 4\)"):
        SpanHead()(np.zeros((3, 4), "float32"), np.ones((3,), "int32"))
