"""Dynamic MLM masking (trainer/dynamic_masking.py): fresh masks each epoch, ALBERT's rates, no specials."""

import numpy as np
import pytest
import tensorflow as tf

from text_contract.features import (
    INPUT_IDS, INPUT_MASK, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, SEGMENT_IDS
)
from text_contract.pieces import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID
from trainer import dynamic_masking as dm

VOCAB = 500
SEQ = 64
PREDICTIONS = 12
SPECIALS = {PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID}


def _pairs(count, seed=0):
    """[CLS] A [SEP] B [SEP] rows of different lengths, right-padded to SEQ."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, SEQ), np.int64)
    segments = np.zeros((count, SEQ), np.int64)
    mask = np.zeros((count, SEQ), np.int64)
    for row in range(count):
        n = int(rng.integers(8, SEQ + 1))
        a = int(rng.integers(1, n - 3))
        ids[row, :n] = rng.integers(dm.FIRST_REGULAR_ID, VOCAB, n)
        ids[row, [0, a + 1, n - 1]] = [CLS_ID, SEP_ID, SEP_ID]
        segments[row, a + 2:n] = 1
        mask[row, :n] = 1
    return {INPUT_IDS: ids, SEGMENT_IDS: segments, INPUT_MASK: mask}


def _masked(features, batch=32, seed=7, **kwargs):
    dataset = tf.data.Dataset.from_tensor_slices(features).batch(batch, drop_remainder=True)
    return dm.apply_dynamic_masking(dataset, VOCAB, seed=seed, **{"max_predictions_per_seq": PREDICTIONS, **kwargs})


def _epoch(dataset):
    batches = list(dataset.as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def test_each_epoch_draws_new_masks_reproducibly():
    features = _pairs(64)
    dataset = _masked(features)
    first, second = _epoch(dataset), _epoch(dataset)
    assert (first[MASKED_LM_POSITIONS] != second[MASKED_LM_POSITIONS]).any(axis=1).mean() > 0.9
    # The same seed replays the same sequence of epochs; .repeat() also re-draws.
    np.testing.assert_array_equal(_epoch(_masked(features))[INPUT_IDS], first[INPUT_IDS])
    repeated = _epoch(_masked(features).repeat(2))
    np.testing.assert_array_equal(repeated[INPUT_IDS][:64], first[INPUT_IDS])
    np.testing.assert_array_equal(repeated[INPUT_IDS][64:], second[INPUT_IDS])


def test_identical_rows_in_a_batch_get_different_masks():
    row = {k: np.repeat(v[:1], 32, axis=0) for k, v in _pairs(1).items()}
    out = _epoch(_masked(row))
    assert len({tuple(p) for p in out[MASKED_LM_POSITIONS]}) > 20


def test_rate_specials_and_80_10_10():
    features = _pairs(1024, seed=1)
    out = _epoch(_masked(features, max_predictions_per_seq=SEQ))
    ids, original = out[INPUT_IDS], features[INPUT_IDS]
    weights = out[MASKED_LM_WEIGHTS]
    maskable = ((original != PAD_ID) & (original != CLS_ID) & (original != SEP_ID)).sum(axis=1)
    count = weights.sum(axis=1).astype(int)
    np.testing.assert_array_equal(count, np.ceil(maskable * 0.15).astype(int))  # ceil(15%) per row
    assert 0.15 <= count.sum() / maskable.sum() < 0.17
    rows, cols = np.nonzero(weights)
    positions = out[MASKED_LM_POSITIONS][rows, cols]
    assert not set(original[rows, positions].tolist()) & SPECIALS  # [CLS]/[SEP]/padding never chosen
    np.testing.assert_array_equal(out[MASKED_LM_IDS][rows, cols], original[rows, positions])
    for row in range(len(ids)):  # positions sorted, everything else untouched
        chosen = out[MASKED_LM_POSITIONS][row, :count[row]]
        assert (np.diff(chosen) > 0).all()
        untouched = np.setdiff1d(np.arange(SEQ), chosen)
        np.testing.assert_array_equal(ids[row, untouched], original[row, untouched])
    new = ids[rows, positions]
    old = original[rows, positions]
    as_mask, as_kept = np.mean(new == MASK_ID), np.mean(new == old)
    assert len(new) > 5000
    assert abs(as_mask - 0.8) < 0.02 and abs(as_kept - 0.1) < 0.02 and abs(1 - as_mask - as_kept - 0.1) < 0.02
    random_ids = new[(new != MASK_ID) & (new != old)]
    assert random_ids.min() >= dm.FIRST_REGULAR_ID and random_ids.max() < VOCAB


def test_predictions_are_capped_and_shapes_static():
    dataset = _masked(_pairs(64), selection_rate=0.5)
    spec = dataset.element_spec
    assert spec[INPUT_IDS].shape == (32, SEQ)
    for name in (MASKED_LM_POSITIONS, MASKED_LM_IDS, MASKED_LM_WEIGHTS):
        assert spec[name].shape == (32, PREDICTIONS)
    assert spec[MASKED_LM_WEIGHTS].dtype == tf.float32
    out = _epoch(dataset)
    assert out[MASKED_LM_WEIGHTS].sum(axis=1).max() == PREDICTIONS
    np.testing.assert_array_equal(out[SEGMENT_IDS], _pairs(64)[SEGMENT_IDS])


def test_single_examples_and_static_data_are_remasked():
    features = _pairs(16, seed=2)
    original = features[INPUT_IDS]
    # Static data: positions 1 and 2 masked at generation time, with their originals as labels.
    static = dict(features)
    static[INPUT_IDS] = original.copy()
    static[INPUT_IDS][:, 1:3] = MASK_ID
    static[MASKED_LM_POSITIONS] = np.tile(np.array([1, 2] + [0] * 18, np.int64), (16, 1))
    static[MASKED_LM_IDS] = np.zeros((16, 20), np.int64)
    static[MASKED_LM_IDS][:, :2] = original[:, 1:3]
    static[MASKED_LM_WEIGHTS] = (static[MASKED_LM_POSITIONS] > 0).astype(np.float32)
    dataset = dm.apply_dynamic_masking(tf.data.Dataset.from_tensor_slices(static), VOCAB, seed=3)
    assert dataset.element_spec[MASKED_LM_POSITIONS].shape == (20,)
    for example, row in zip(dataset.as_numpy_iterator(), original):
        weights = example[MASKED_LM_WEIGHTS] > 0
        positions = example[MASKED_LM_POSITIONS][weights]
        np.testing.assert_array_equal(example[MASKED_LM_IDS][weights], row[positions])
        untouched = np.setdiff1d(np.arange(SEQ), positions)
        np.testing.assert_array_equal(example[INPUT_IDS][untouched], row[untouched])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="vocab_size"):
        dm.DynamicMasker(vocab_size=5)
    with pytest.raises(ValueError, match="selection_rate"):
        dm.DynamicMasker(vocab_size=100, selection_rate=0.0)
