"""Small pretraining and classification TFRecords in the trainer's formats, made by the tests themselves."""

import numpy as np
import tensorflow as tf

from text_contract.features import (
    INPUT_IDS, INPUT_MASK, LABEL_IDS, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, PADDING_MASK,
    SEGMENT_IDS, SENTENCE_ORDER_LABEL, TOKEN_IDS
)
from text_contract.pieces import CLS_ID, MASK_ID, SEP_ID


def _int64(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def _float(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))


def write_pretraining_records(path, count=64, vocab_size=100, seq_length=32, predictions=5, seed=0):
    """`count` examples: random ids, a pair layout, `predictions - 1` masked positions (the last padded)."""
    rng = np.random.default_rng(seed)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(count):
            length = int(rng.integers(seq_length // 2, seq_length + 1))
            ids = np.zeros(seq_length, int)
            ids[:length] = rng.integers(5, vocab_size, length)
            ids[0], ids[length - 1] = CLS_ID, SEP_ID
            mask = (np.arange(seq_length) < length).astype(int)
            segments = ((np.arange(seq_length) >= length // 2) & (mask == 1)).astype(int)
            positions = np.sort(rng.choice(np.arange(1, length - 1), predictions - 1, replace=False))
            masked_ids = ids[positions]
            order = int(rng.integers(0, 2))
            # A learnable signal: swapped pairs start their second segment with token 7.
            ids[length // 2] = 7 if order else 8
            ids_masked = ids.copy()
            ids_masked[positions] = MASK_ID
            features = {
                INPUT_IDS: _int64(ids_masked),
                SEGMENT_IDS: _int64(segments),
                INPUT_MASK: _int64(mask),
                MASKED_LM_POSITIONS: _int64(list(positions) + [0]),
                MASKED_LM_IDS: _int64(list(masked_ids) + [0]),
                MASKED_LM_WEIGHTS: _float([1.0] * (predictions - 1) + [0.0]),
                SENTENCE_ORDER_LABEL: _int64([order]),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return str(path)


def write_classification_records(path, count=64, vocab_size=100, seq_length=16, num_classes=2, seed=0,
                                 label_probabilities=None, mislabel=False):
    """Transformed-layout examples whose label is visible in token 1 (token id 10 + label), drawn with
    `label_probabilities` (default: uniform). `mislabel`: each example's `label_ids` is the next class's,
    the opposite of what its tokens say (eval data on which learning makes the model worse)."""
    rng = np.random.default_rng(seed)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(count):
            label = int(rng.choice(num_classes, p=label_probabilities))
            length = int(rng.integers(4, seq_length + 1))
            ids = np.zeros(seq_length, int)
            ids[:length] = rng.integers(20, vocab_size, length)
            ids[0], ids[1], ids[length - 1] = CLS_ID, 10 + label, SEP_ID
            mask = (np.arange(seq_length) < length).astype(int)
            features = {
                TOKEN_IDS: _int64(ids),
                SEGMENT_IDS: _int64(np.zeros(seq_length, int)),
                PADDING_MASK: _int64(mask),
                LABEL_IDS: _int64([(label + 1) % num_classes if mislabel else label]),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return str(path)
