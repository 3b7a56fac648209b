"""tf.data input pipelines for the tasks (pretrain, classify, qa): static shapes, `drop_remainder`, no Python per
step (TPU-safe).

Pipelines yield `(inputs, targets, sample_weights)` with the model's input names, global batches; Keras
splits them across the strategy's replicas.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from text_contract.features import (
    END_POSITIONS, INPUT_IDS, INPUT_MASK, LABEL_IDS, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS,
    MODEL_INPUTS, PADDING_MASK, SEGMENT_IDS, SENTENCE_ORDER_LABEL, START_POSITIONS, TOKEN_IDS, WINDOW_COUNT
)
from trainer.dynamic_masking import apply_dynamic_masking
from text_contract.features import END_LOGITS, START_LOGITS


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


def _one_pass(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """An evaluation's single ordered pass. Sharded by element (as training is): the sharding then comes after
    the length the caller declares, which file sharding, applied to the files, would contradict."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


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


def classification_feature_spec(max_seq_length: int,
                                 max_windows: Optional[int] = None) -> Dict[str, tf.io.FixedLenFeature]:
    """How classify rows are parsed: one sequence per row, or with `max_windows` one document per row, the
    Transform's long_text "windows" layout (`text_contract.windows.document_windows`: `MODEL_INPUTS` [W, L] and
    `WINDOW_COUNT`); the label is the row's either way. The one place that says it."""
    if max_windows is None:
        sequence = tf.io.FixedLenFeature([max_seq_length], tf.int64)
        return {
            TOKEN_IDS: sequence,
            SEGMENT_IDS: sequence,
            PADDING_MASK: sequence,
            LABEL_IDS: tf.io.FixedLenFeature([], tf.int64),
        }
    _check_max_windows(max_windows)
    return {**{name: tf.io.FixedLenFeature([max_windows, max_seq_length], tf.int64) for name in MODEL_INPUTS},
            WINDOW_COUNT: tf.io.FixedLenFeature([], tf.int64),
            LABEL_IDS: tf.io.FixedLenFeature([], tf.int64)}


def _check_max_windows(max_windows) -> None:
    if not isinstance(max_windows, int) or isinstance(max_windows, bool) or max_windows < 1:
        raise ValueError(f"max_windows must be None (one sequence or window per row) or an integer >= 1, got "
                         f"{max_windows!r}")


def classification_to_model(features: Dict[str, tf.Tensor], class_weights: Optional[tf.Tensor] = None):
    """Parsed features -> (inputs, targets), or (inputs, targets, sample_weights) with `class_weights`
    (a `[num_classes]` float tensor: each example weighs its class's weight in the loss)."""
    inputs = {name: tf.cast(features[name], tf.int32) for name in (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK)}
    labels = tf.cast(features[LABEL_IDS], tf.int32)
    if class_weights is None:
        return inputs, {"logits": labels}
    return inputs, {"logits": labels}, {"logits": tf.gather(class_weights, labels)}


def _labelled(files: List[str], windowed: bool = False):
    """The label ids of the labelled rows of transformed classification TFRecords, in chunks (rows labelled -1,
    the Transform's missing or unknown label, are left out: training skips them). Parses the label only; with
    `windowed` (rows are documents of windows) the window count too, and a document's label comes once per
    window: the training rows are windows."""
    spec = {LABEL_IDS: tf.io.FixedLenFeature([], tf.int64)}
    if windowed:
        spec[WINDOW_COUNT] = tf.io.FixedLenFeature([], tf.int64)
    dataset = _records(files).batch(4096).map(
        lambda records: tf.io.parse_example(records, spec), num_parallel_calls=tf.data.AUTOTUNE)
    for parsed in dataset.as_numpy_iterator():
        labels = parsed[LABEL_IDS]
        if windowed:
            labels = np.repeat(labels, parsed[WINDOW_COUNT])
        yield labels[labels >= 0]


def label_counts(file_pattern, num_classes: int, max_windows: Optional[int] = None) -> List[int]:
    """Labelled examples per class id in transformed classification TFRecords (`_labelled`): one pass. With
    `max_windows` (documents of windows) the examples are the windows, each counted for its document's label,
    since those are what training steps over and weighs."""
    counts = np.zeros(num_classes, np.int64)
    for labels in _labelled(_files(file_pattern), max_windows is not None):
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
    max_windows: Optional[int] = None,
) -> tf.data.Dataset:
    """Batches of transformed examples (`token_ids`, `segment_ids`, `padding_mask`, `label_ids`), with
    `class_weights[label]` as each example's loss weight when given (Keras' own `class_weight` refuses
    models with dict outputs, and ours name theirs).

    With `max_windows` the rows are documents of up to that many windows (long_text "windows";
    `classification_feature_spec`): each window in use becomes an example carrying its document's label (by the
    windows' own `per_window_rows`, as task qa's questions are split), shuffled after the split so a document's
    windows do not all share a batch. Evaluations then score windows too; one answer per document is the
    export's (its windows' logits pooled).

    Without `repeat` (one pass, for evaluation) the labelled rows are counted first (one pass over their
    labels) and the dataset declares its number of batches: Keras then stops at the last batch, where with a
    length it cannot know (TFRecords, the label filter) it reads until the end and warns that the input "ran
    out of data" after every evaluation."""
    spec = feature_spec or classification_feature_spec(max_seq_length, max_windows)
    files = _files(file_pattern)
    dataset = _records(files)
    dataset = _repeat_and_shuffle(dataset, shuffle=shuffle, seed=seed) if repeat else _one_pass(dataset)
    dataset = dataset.map(lambda record: tf.io.parse_single_example(record, spec), num_parallel_calls=tf.data.AUTOTUNE)
    # Transform maps a missing or unknown label to -1: such rows cannot be trained or scored on.
    dataset = dataset.filter(lambda features: features[LABEL_IDS] >= 0)
    if max_windows is not None:
        per_window_rows = _windows_module().per_window_rows
        dataset = dataset.batch(global_batch_size).map(per_window_rows, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        if repeat and shuffle:
            dataset = dataset.shuffle(WINDOW_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(global_batch_size, drop_remainder=repeat)
    if not repeat:
        examples = sum(len(labels) for labels in _labelled(files, max_windows is not None))
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(examples / global_batch_size)))
    weights = None if class_weights is None else tf.constant(list(class_weights), tf.float32)
    dataset = dataset.map(lambda features: classification_to_model(features, weights),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.skip(skip_batches).prefetch(tf.data.AUTOTUNE)


# Task qa's rows come in two layouts (one window = [CLS] question [SEP] a span of the context [SEP], padded to
# max_seq_length = L), told apart by `max_windows` (W):
# - None: one window per row: `MODEL_INPUTS` int64 [L], `START_POSITIONS` and `END_POSITIONS` scalar int64;
# - W: one question per row, the Transform's layout (text_contract/windows.py, `build_windows`): `MODEL_INPUTS`
#   [W, L], the positions [W] and `WINDOW_COUNT` (the windows in use; the rest are padding), split into
#   window rows here by the contract's own `per_window_rows`.
# Windows shuffled after questions (or documents) are split, so that their windows do not all share a batch.
WINDOW_SHUFFLE_BUFFER = 1_000


def _windows_module():
    # Imported when a per-question (or per-document) layout is read: it imports tensorflow_text, which rows of
    # one sequence never need.
    from text_contract import windows

    return windows


def qa_feature_spec(max_seq_length: int, max_windows: Optional[int] = None) -> Dict[str, tf.io.FixedLenFeature]:
    """How task qa's rows are parsed: one window per row, or with `max_windows` one question per row (the one
    place that says it)."""
    if max_windows is None:
        return {**{name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in MODEL_INPUTS},
                START_POSITIONS: tf.io.FixedLenFeature([], tf.int64),
                END_POSITIONS: tf.io.FixedLenFeature([], tf.int64)}
    _check_max_windows(max_windows)
    return {**{name: tf.io.FixedLenFeature([max_windows, max_seq_length], tf.int64) for name in MODEL_INPUTS},
            START_POSITIONS: tf.io.FixedLenFeature([max_windows], tf.int64),
            END_POSITIONS: tf.io.FixedLenFeature([max_windows], tf.int64),
            WINDOW_COUNT: tf.io.FixedLenFeature([], tf.int64)}


def qa_to_model(features: Dict[str, tf.Tensor], max_seq_length: int):
    """Parsed windows -> (inputs, targets) for `AlbertQuestionAnswerer`. A position outside the window stops
    the run here, naming the feature, rather than becoming a gather out of range (or, on GPU, a silent 0)."""
    inputs = {name: tf.cast(features[name], tf.int32) for name in MODEL_INPUTS}
    targets = {}
    for name, output in ((START_POSITIONS, START_LOGITS), (END_POSITIONS, END_LOGITS)):
        positions = tf.cast(features[name], tf.int32)
        checks = [tf.debugging.assert_non_negative(positions, message=f"{name} must be >= 0"),
                  tf.debugging.assert_less(positions, max_seq_length,
                                           message=f"{name} must be below max_seq_length={max_seq_length}")]
        with tf.control_dependencies(checks):
            targets[output] = tf.identity(positions)
    return inputs, targets


def _qa_window_count(files: List[str], max_windows: Optional[int]) -> int:
    """Windows in task qa's TFRecords: rows, or the sum of their window counts (one pass, that feature only)."""
    if max_windows is None:
        return int(_records(files).reduce(np.int64(0), lambda count, _: count + 1))
    spec = {WINDOW_COUNT: tf.io.FixedLenFeature([], tf.int64)}
    counts = _records(files).batch(4096).map(
        lambda records: tf.io.parse_example(records, spec)[WINDOW_COUNT], num_parallel_calls=tf.data.AUTOTUNE)
    return int(sum(int(tf.reduce_sum(chunk)) for chunk in counts))


def qa_dataset(
    file_pattern,
    global_batch_size: int,
    max_seq_length: int,
    *,
    shuffle: bool = True,
    repeat: bool = True,
    seed: int = 0,
    skip_batches: int = 0,
    max_windows: Optional[int] = None,
) -> tf.data.Dataset:
    """Batches of task qa's windows as `({MODEL_INPUTS}, {start_logits, end_logits})`, the targets being the
    answer's first and last piece positions in the window (0, [CLS], when it holds no answer). Rows are
    windows, or with `max_windows` questions (`qa_feature_spec`).

    Without `repeat` (one pass, for evaluation) the windows are counted first and the dataset declares its
    number of batches, as `classification_dataset` does."""
    spec = qa_feature_spec(max_seq_length, max_windows)
    files = _files(file_pattern)
    dataset = _repeat_and_shuffle(_records(files), shuffle=shuffle, seed=seed) if repeat else _one_pass(_records(files))
    if max_windows is None:
        dataset = dataset.batch(global_batch_size, drop_remainder=repeat)
        dataset = dataset.map(lambda records: tf.io.parse_example(records, spec), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        per_window_rows = _windows_module().per_window_rows
        dataset = dataset.batch(global_batch_size)
        dataset = dataset.map(lambda records: per_window_rows(tf.io.parse_example(records, spec)),
                              num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        if repeat and shuffle:
            dataset = dataset.shuffle(WINDOW_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(global_batch_size, drop_remainder=repeat)
    if not repeat:
        windows = _qa_window_count(files, max_windows)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(windows / global_batch_size)))
    dataset = dataset.map(lambda features: qa_to_model(features, max_seq_length), num_parallel_calls=tf.data.AUTOTUNE)
    # Resuming skips the batches already trained on, as the other tasks' pipelines do.
    return dataset.skip(skip_batches).prefetch(tf.data.AUTOTUNE)
