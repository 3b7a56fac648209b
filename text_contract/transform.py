"""The TensorFlow side of the text contract and the one Transform module: text -> ids, in the graph.

TFX's Transform calls `preprocessing_fn(inputs, custom_config)` (module path
`text_contract.transform.preprocessing_fn`); the resulting transform graph is saved with the model, so
serving tokenizes with the very same graph. The pieces are plain TensorFlow functions, usable outside TFT:

- `to_text`: a feature tensor (dense, sparse or ragged; a missing value is an empty row) -> [batch] strings,
  several values of one feature joined with a space;
- `normalize_text`: invalid UTF-8 replaced by U+FFFD, then the normalization of
  `text_contract.normalization` (NUL and U+FEFF removed, NFKC, optional lower case, whitespace runs to one
  space, stripped), from the same code-point lists; the tests check both agree on every code point;
- `load_tokenizer`: tf_text.SentencepieceTokenizer over the bytes of a spm.model (embedded in the graph as
  a constant: the transform graph does not need the file afterwards);
- `longest_first_lengths`: how many pieces of a and b survive longest-first truncation, in closed form;
- `pack_inputs`: [CLS] a [SEP] or [CLS] a [SEP] b [SEP], segment ids 0 for [CLS] a [SEP] and 1 for b [SEP],
  padded with <pad> (id 0) to a static max_seq_length;
- `encode_texts`: all of the above from raw strings to the model's inputs.

Outputs (names from `text_contract.features`), all int64 (tf.Example's integer type, which TFT writes),
shape [batch, max_seq_length] except label_ids ([batch]): `token_ids`, `segment_ids`, `padding_mask`
(1 for real pieces, 0 for padding) and, when a label feature is configured, `label_ids`.

Labels: integers are turned into strings first, so 0/1 and "neg"/"pos" both work; a TFT vocabulary named
`features.LABEL_VOCABULARY` maps them to ids (serving reads the label names from that file). With
`label_values` the ids follow that list and any other value gets -1; without it TFT orders the labels by
decreasing frequency (ties: reverse lexicographic). A missing or empty label gets -1: the trainer skips
those rows.

Bad input never fails the graph: missing or empty text gives [CLS] [SEP] and padding, invalid UTF-8 is
replaced, and text is cut to `TransformOptions.text_chars` characters after normalization before
tokenization. custom_config: see `text_contract.transform_options`.
"""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import tensorflow as tf
import tensorflow_text as tf_text
import tensorflow_transform as tft

from text_contract import features, normalization, pieces
from text_contract.transform_options import DEFAULT_MAX_SEQ_LENGTH, TEXT_CHARS_PER_POSITION, TransformOptions

OUTPUT_DTYPE = tf.int64

_REMOVED_RE2 = normalization.re2_class(normalization.REMOVED_CODEPOINTS)
_WHITESPACE_RUN_RE2 = normalization.re2_class(normalization.WHITESPACE_CODEPOINTS) + "+"

TensorLike = Union[tf.Tensor, tf.SparseTensor, tf.RaggedTensor]


def _map_values(fn, x: TensorLike) -> TensorLike:
    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, fn(x.values), x.dense_shape)
    if isinstance(x, tf.RaggedTensor):
        return tf.ragged.map_flat_values(fn, x)
    return fn(x)


def to_text(x: TensorLike) -> tf.Tensor:
    """A feature ([batch], [batch, n], sparse or ragged; strings or integers) -> [batch] strings.

    Several values of one row are joined with a space; a row without a value becomes "".
    """
    if x.dtype.is_integer:
        x = _map_values(tf.strings.as_string, x)
    elif x.dtype != tf.string:
        raise TypeError(f"expected a string or integer feature, got {x.dtype.name}")
    if isinstance(x, tf.SparseTensor):
        x = tf.RaggedTensor.from_sparse(x)
    if isinstance(x, tf.RaggedTensor) or x.shape.rank == 2:
        return tf.strings.reduce_join(x, axis=1, separator=" ")
    if x.shape.rank == 1:
        return x
    raise ValueError(f"expected a feature of rank 1 or 2, got shape {x.shape}")


def normalize_text(texts: tf.Tensor, lower_case: bool = False) -> tf.Tensor:
    """TensorFlow twin of `text_contract.normalization.normalize` (invalid UTF-8 -> U+FFFD first)."""
    texts = tf.strings.unicode_transcode(
        texts, input_encoding="UTF-8", output_encoding="UTF-8", errors="replace", replacement_char=0xFFFD
    )
    texts = tf.strings.regex_replace(texts, _REMOVED_RE2, "")
    texts = tf_text.normalize_utf8(texts, "NFKC")
    if lower_case:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, _WHITESPACE_RUN_RE2, " ")
    return tf.strings.regex_replace(texts, "^ +| +$", "")


def load_tokenizer(model_path: str) -> tf_text.SentencepieceTokenizer:
    """tf_text.SentencepieceTokenizer for the spm.model at `model_path` (the bytes go into the graph)."""
    with tf.io.gfile.GFile(model_path, "rb") as f:
        model = f.read()
    return tf_text.SentencepieceTokenizer(model=model, out_type=tf.int32)


def longest_first_lengths(len_a: tf.Tensor, len_b: tf.Tensor, budget: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """Pieces of a and b kept when the longer one loses a piece at a time until a + b <= budget.

    Ties trim b (as BERT/ALBERT's _truncate_seq_pair does), so when both are cut a keeps ceil(budget / 2)
    and b floor(budget / 2). Closed form, elementwise over the batch.
    """
    half_up = (budget + 1) // 2
    keep_a = tf.minimum(len_a, tf.maximum(budget - len_b, half_up))
    keep_b = tf.minimum(len_b, budget - keep_a)
    return keep_a, keep_b


def _take(ids: tf.RaggedTensor, n: tf.Tensor) -> tf.RaggedTensor:
    """The first n[i] pieces of each row i."""
    positions = tf.ragged.range(ids.row_lengths())
    return tf.ragged.boolean_mask(ids, positions < tf.expand_dims(n, 1))


def pack_inputs(
    ids_a: tf.RaggedTensor, ids_b: Optional[tf.RaggedTensor], max_seq_length: int
) -> Dict[str, tf.Tensor]:
    """[CLS] a [SEP] (b [SEP]) with segment ids and padding mask, truncated longest-first, padded.

    `ids_a`, `ids_b`: [batch, (pieces)] ragged piece ids. Returns int64 [batch, max_seq_length] tensors.
    """
    ids_a = tf.cast(ids_a, OUTPUT_DTYPE)
    if ids_b is None:
        if max_seq_length < 2:
            raise ValueError(f"max_seq_length must be >= 2 for [CLS] a [SEP], got {max_seq_length}")
        parts = [_take(ids_a, tf.minimum(ids_a.row_lengths(), max_seq_length - 2))]
    else:
        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be >= 3 for [CLS] a [SEP] b [SEP], got {max_seq_length}")
        ids_b = tf.cast(ids_b, OUTPUT_DTYPE)
        keep_a, keep_b = longest_first_lengths(ids_a.row_lengths(), ids_b.row_lengths(), max_seq_length - 3)
        parts = [_take(ids_a, keep_a), _take(ids_b, keep_b)]
    batch = ids_a.nrows()
    cls = tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), tf.constant(pieces.CLS_ID, OUTPUT_DTYPE)))
    sep = tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), tf.constant(pieces.SEP_ID, OUTPUT_DTYPE)))
    tokens = [cls, parts[0], sep]
    segments = [tf.zeros_like(cls), tf.zeros_like(parts[0]), tf.zeros_like(sep)]
    if len(parts) == 2:
        tokens += [parts[1], sep]
        segments += [tf.ones_like(parts[1]), tf.ones_like(sep)]
    tokens = tf.concat(tokens, axis=1)
    segments = tf.concat(segments, axis=1)
    shape = [None, max_seq_length]
    return {
        features.TOKEN_IDS: tokens.to_tensor(default_value=pieces.PAD_ID, shape=shape),
        features.SEGMENT_IDS: segments.to_tensor(default_value=0, shape=shape),
        features.PADDING_MASK: tf.ones_like(tokens).to_tensor(default_value=0, shape=shape),
    }


def encode_texts(
    tokenizer: tf_text.SentencepieceTokenizer,
    texts: Sequence[tf.Tensor],
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    lower_case: bool = False,
    max_text_chars: Optional[int] = None,
) -> Dict[str, tf.Tensor]:
    """One or two [batch] string tensors (raw text) -> token_ids, segment_ids, padding_mask."""
    if len(texts) not in (1, 2):
        raise ValueError(f"expected one text (single) or two (pair), got {len(texts)}")
    max_text_chars = max_text_chars or TEXT_CHARS_PER_POSITION * max_seq_length
    ids = []
    for text in texts:
        text = normalize_text(text, lower_case)
        text = tf.strings.substr(text, 0, max_text_chars, unit="UTF8_CHAR")
        ids.append(tokenizer.tokenize(text))
    return pack_inputs(ids[0], ids[1] if len(ids) == 2 else None, max_seq_length)


def label_ids(label: TensorLike, label_values: Optional[Sequence[str]] = None) -> tf.Tensor:
    """TFT: label values (strings or integers) -> int64 [batch] ids through the LABEL_VOCABULARY vocabulary."""
    labels = tf.strings.strip(to_text(label))
    if label_values:
        known = tf.reduce_any(tf.equal(tf.expand_dims(labels, 1), tf.constant(list(label_values))[None, :]), axis=1)
        labels = tf.where(known, labels, "")  # TFT leaves "" out of the vocabulary: it maps to UNKNOWN_LABEL_ID
    return tft.compute_and_apply_vocabulary(
        labels,
        vocab_filename=features.LABEL_VOCABULARY,
        reserved_tokens=list(label_values) if label_values else None,
        default_value=features.UNKNOWN_LABEL_ID,
    )


def _feature(inputs: Mapping[str, TensorLike], name: str) -> TensorLike:
    if name not in inputs:
        raise ValueError(f"feature {name!r} is not among the Transform inputs: {sorted(inputs)}")
    return inputs[name]


def preprocessing_fn(inputs: Mapping[str, TensorLike], custom_config: Optional[Mapping[str, Any]] = None):
    """TFT entry point: raw features -> token_ids, segment_ids, padding_mask (and label_ids)."""
    options = TransformOptions.from_custom_config(custom_config)
    tokenizer = load_tokenizer(options.sentencepiece_model_path)
    texts = [to_text(_feature(inputs, name)) for name in options.text_features]
    outputs = encode_texts(tokenizer, texts, options.max_seq_length, options.lower_case, options.text_chars)
    if options.label_feature:
        outputs[features.LABEL_IDS] = label_ids(_feature(inputs, options.label_feature), options.label_values)
    return outputs
