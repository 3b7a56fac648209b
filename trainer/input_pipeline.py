"""tf.data input pipelines for the two tasks: static shapes, `drop_remainder`, no Python per step (TPU-safe).

Pipelines yield `(inputs, targets, sample_weights)` with the model's input names, global batches; Keras
splits them across the strategy's replicas.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from text_contract.features import (
    INPUT_IDS, INPUT_MASK, LABEL_IDS, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, PADDING_MASK,
    SEGMENT_IDS, SENTENCE_ORDER_LABEL, TOKEN_IDS
)
from trainer.dynamic_masking import apply_dynamic_masking


def _files(file_pattern) -> List[str]:
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files = sorted(f for pattern in patterns for f in tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no input files match {patterns}")
    return files


def _records(files: List[str]) -> tf.data.Dataset:
    compression = "GZIP" if all(f.endswith(".gz") for f in files) else ""
    return tf.data.TFRecordDataset(files, compression_type=compression)


def _repeat_and_shuffle(dataset: tf.data.Dataset, *, shuffle: bool, seed: int) -> tf.data.Dataset:
    options = tf.data.Options()
    # Shard by element, not by file: small runs have fewer files than workers.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    dataset = dataset.with_options(options).repeat()
    if shuffle:
        dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    return dataset


def pretraining_feature_spec(max_seq_length: int, max_predictions_per_seq: int) -> Dict[str, tf.io.FixedLenFeature]:
    sequence = tf.io.FixedLenFeature([max_seq_length], tf.int64)
    predictions = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
    return {
        INPUT_IDS: sequence,
        SEGMENT_IDS: sequence,
        INPUT_MASK: sequence,
        MASKED_LM_POSITIONS: predictions,
        MASKED_LM_IDS: predictions,
        MASKED_LM_WEIGHTS: tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
        SENTENCE_ORDER_LABEL: tf.io.FixedLenFeature([1], tf.int64),
    }


def pretraining_to_model(features: Dict[str, tf.Tensor]):
    """Parsed pretraining features -> (inputs, targets, sample_weights) for `AlbertPretrainer`."""
    inputs = {
        "token_ids": tf.cast(features[INPUT_IDS], tf.int32),
        "segment_ids": tf.cast(features[SEGMENT_IDS], tf.int32),
        "padding_mask": tf.cast(features[INPUT_MASK], tf.int32),
        "masked_lm_positions": tf.cast(features[MASKED_LM_POSITIONS], tf.int32),
    }
    sentence_order = tf.cast(tf.reshape(features[SENTENCE_ORDER_LABEL], [-1]), tf.int32)
    targets = {"mlm_logits": tf.cast(features[MASKED_LM_IDS], tf.int32), "sop_logits": sentence_order}
    weights = {
        "mlm_logits": tf.cast(features[MASKED_LM_WEIGHTS], tf.float32),
        "sop_logits": tf.ones_like(sentence_order, tf.float32),
    }
    return inputs, targets, weights


def pretraining_dataset(
    file_pattern,
    global_batch_size: int,
    max_seq_length: int,
    max_predictions_per_seq: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    skip_batches: int = 0,
    dynamic_masking_vocab_size: Optional[int] = None,
) -> tf.data.Dataset:
    """Batches of `PretrainingDataGen` TFRecords. With `dynamic_masking_vocab_size`, every batch is masked
    anew (new masks each epoch, reproducible from `seed`; see `trainer.dynamic_masking`)."""
    spec = pretraining_feature_spec(max_seq_length, max_predictions_per_seq)
    dataset = _repeat_and_shuffle(_records(_files(file_pattern)), shuffle=shuffle, seed=seed)
    dataset = dataset.batch(global_batch_size, drop_remainder=True)
    dataset = dataset.map(lambda records: tf.io.parse_example(records, spec), num_parallel_calls=tf.data.AUTOTUNE)
    if dynamic_masking_vocab_size:
        # After repeat and before skip: a resumed run re-draws the masks the interrupted one would have.
        dataset = apply_dynamic_masking(
            dataset, dynamic_masking_vocab_size, max_predictions_per_seq=max_predictions_per_seq, seed=seed
        )
    dataset = dataset.map(pretraining_to_model, num_parallel_calls=tf.data.AUTOTUNE)
    # Resuming skips the batches already trained on, so the resumed run sees the same data order.
    return dataset.skip(skip_batches).prefetch(tf.data.AUTOTUNE)


def classification_feature_spec(max_seq_length: int) -> Dict[str, tf.io.FixedLenFeature]:
    sequence = tf.io.FixedLenFeature([max_seq_length], tf.int64)
    return {
        TOKEN_IDS: sequence,
        SEGMENT_IDS: sequence,
        PADDING_MASK: sequence,
        LABEL_IDS: tf.io.FixedLenFeature([], tf.int64),
    }


def classification_to_model(features: Dict[str, tf.Tensor], class_weights: Optional[tf.Tensor] = None):
    """Parsed features -> (inputs, targets), or (inputs, targets, sample_weights) with `class_weights`
    (a `[num_classes]` float tensor: each example weighs its class's weight in the loss)."""
    inputs = {name: tf.cast(features[name], tf.int32) for name in (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK)}
    labels = tf.cast(features[LABEL_IDS], tf.int32)
    if class_weights is None:
        return inputs, {"logits": labels}
    return inputs, {"logits": labels}, {"logits": tf.gather(class_weights, labels)}


def _labelled(files: List[str]):
    """The label ids of the labelled rows of transformed classification TFRecords, in chunks (rows labelled -1,
    the Transform's missing or unknown label, are left out: training skips them). Parses the label only."""
    spec = {LABEL_IDS: tf.io.FixedLenFeature([], tf.int64)}
    dataset = _records(files).batch(4096).map(
        lambda records: tf.io.parse_example(records, spec)[LABEL_IDS], num_parallel_calls=tf.data.AUTOTUNE)
    for labels in dataset.as_numpy_iterator():
        yield labels[labels >= 0]


def label_counts(file_pattern, num_classes: int) -> List[int]:
    """Labelled examples per class id in transformed classification TFRecords (`_labelled`): one pass."""
    counts = np.zeros(num_classes, np.int64)
    for labels in _labelled(_files(file_pattern)):
        if labels.size and labels.max() >= num_classes:
            raise ValueError(f"{file_pattern}: label id {int(labels.max())} is not below num_classes={num_classes}")
        counts += np.bincount(labels, minlength=num_classes)
    return [int(c) for c in counts]


def classification_dataset(
    file_pattern,
    global_batch_size: int,
    max_seq_length: int,
    *,
    shuffle: bool = True,
    repeat: bool = True,
    seed: int = 0,
    skip_batches: int = 0,
    feature_spec: Optional[Dict[str, tf.io.FixedLenFeature]] = None,
    class_weights: Optional[Sequence[float]] = None,
) -> tf.data.Dataset:
    """Batches of transformed examples (`token_ids`, `segment_ids`, `padding_mask`, `label_ids`), with
    `class_weights[label]` as each example's loss weight when given (Keras' own `class_weight` refuses
    models with dict outputs, and ours name theirs).

    Without `repeat` (one pass, for evaluation) the labelled rows are counted first (one pass over their
    labels) and the dataset declares its number of batches: Keras then stops at the last batch, where with a
    length it cannot know (TFRecords, the label filter) it reads until the end and warns that the input "ran
    out of data" after every evaluation."""
    spec = feature_spec or classification_feature_spec(max_seq_length)
    files = _files(file_pattern)
    dataset = _records(files)
    if repeat:
        dataset = _repeat_and_shuffle(dataset, shuffle=shuffle, seed=seed)
    else:
        options = tf.data.Options()
        # Shard by element (as training does): the sharding then comes after the declared length below, which
        # file sharding, applied to the files, would contradict.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    dataset = dataset.map(lambda record: tf.io.parse_single_example(record, spec), num_parallel_calls=tf.data.AUTOTUNE)
    # Transform maps a missing or unknown label to -1: such rows cannot be trained or scored on.
    dataset = dataset.filter(lambda features: features[LABEL_IDS] >= 0)
    dataset = dataset.batch(global_batch_size, drop_remainder=repeat)
    if not repeat:
        examples = sum(len(labels) for labels in _labelled(files))
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(examples / global_batch_size)))
    weights = None if class_weights is None else tf.constant(list(class_weights), tf.float32)
    dataset = dataset.map(lambda features: classification_to_model(features, weights),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.skip(skip_batches).prefetch(tf.data.AUTOTUNE)
