"""Question answering in the graph (issue 15): contexts tokenized with offsets into the original text, cut into
the BERT/ALBERT SQuAD sliding windows, with the answer's piece positions. Plain TensorFlow and tf_text ops (TF
Serving has them all; no py_function), so the Transform and serving run the same graph.

Offsets: `TextTokenizer.tokenize_with_offsets` gives each piece its [start, end) in code points of the
original context (`text_contract.alignment` says how).

Windows (`build_windows`), per question: [CLS] question [SEP] window-of-context [SEP], padded to
max_seq_length, the question cut to its first max_query_length pieces. The context pieces are windowed as
BERT's run_squad.py does: a window holds up to max_seq_length - question pieces - 3 context pieces, windows
start every min(doc_stride, that) pieces, and the last one is the first that reaches the end of the context.
An empty context still gets one window ([CLS] question [SEP] [SEP]). At most `max_windows` windows per
question: a longer context keeps its FIRST max_windows windows and its tail is never seen (training: an answer
only there labels no window, every kept window says "no answer"; serving: the best span is searched in the
kept windows). Choose max_windows from the data's context lengths (count_windows tells).

Layout: the Transform cannot change the batch size (one output row per input row), so `build_windows`
returns one row per QUESTION, windows along a fixed second axis (int64, W = max_windows, L = max_seq_length):
  token_ids, segment_ids, padding_mask              [batch, W, L]   (segment 1 for the window and its [SEP])
  context_char_starts, context_char_ends            [batch, W, L]   original-context code points, -1 for
                                                                     question, special and padding positions
  window_count                                      [batch]         windows in use; rows w >= window_count
                                                                     are all padding (mask 0, offsets -1)
  start_positions, end_positions (answers given)    [batch, W]      the answer's first and last piece
                                                                     positions in the window, 0 ([CLS]) when
                                                                     the whole answer is not inside it
TFT writes [W, L] features as FixedLenFeature([W, L]) (tf.Example stores the W * L values flat; parsing gives
[batch, W, L] back). The trainer turns question rows into window rows with `per_window_rows` (a tf.data map
over batches of questions, then unbatch); it adds window_index and question_index (the question's row in the
batch it came from) and repeats any per-question [batch] feature (an id, say) on each of its windows. Serving
keeps the per-question layout: it runs the model on the [batch * W, L] reshape, ignores windows at or past
window_count and maps the best span back with the context_char_* offsets.

Documents (task classify with long_text "windows", `document_windows`): the same windows without a question,
[CLS] window-of-document [SEP] (segment 0 throughout, as truncation packs [CLS] text [SEP]), a window holding
max_seq_length - 2 pieces and starting every min(stride, that) pieces, at most max_windows per document (its
first ones). One row per document: token_ids, segment_ids, padding_mask [batch, W, L] and window_count [batch];
a document that fits one window gives exactly the row truncation gives, in window 0. `per_window_rows` makes
the training rows (the document's label repeated on each window); serving pools the windows' logits.

The QA ExampleGen's answer lists (features.QA_ANSWER_STARTS / QA_ANSWER_TEXTS) give `first_answers`, the
[batch] start and text build_windows takes for training.

Answer positions: the answer is [answer_start, answer_start + len(answer_text)) in code points of the
original context (the ExampleGen checked the start; it is trusted here). Its first piece is the first one that
ends after answer_start or starts at or after it; its last piece the last that starts before the answer's end
(as BERT maps an answer onto whole words: pieces straddling either boundary are in). No such piece (an empty
answer, a negative start, an answer in whitespace), or an answer past the kept windows: no window is labelled.
"""

from typing import Dict, Mapping, Optional, Tuple

import tensorflow as tf

from text_contract import features
from text_contract import transform as tr
# Context pieces a window holds at least (a question of max_query_length pieces), and document pieces a classify
# window holds: stated with the options that validate them, re-exported here.
from text_contract.transform_options import document_window_capacity, window_capacity  # noqa: F401
from text_contract.transform_options import document_window_stride

# The offset of question, special and padding positions.
NO_OFFSET = -1
# The position start/end_positions point at when the answer is not in the window: [CLS].
NO_ANSWER_POSITION = 0

_INT = tf.int64


# --- windows -------------------------------------------------------------------------------------------------

def first_value(values: tr.TensorLike, default) -> tf.Tensor:
    """A feature's first value per row ([batch]): sparse, ragged or dense [batch, n] (`default` where a row has
    none); [batch] passes through."""
    if isinstance(values, tf.SparseTensor):
        values = tf.RaggedTensor.from_sparse(values)
    elif not isinstance(values, tf.RaggedTensor):
        if values.shape.rank == 1:
            return values
        values = tf.RaggedTensor.from_tensor(values)
    return values[:, :1].to_tensor(default_value=default, shape=[None, 1])[:, 0]


def first_answers(answer_starts: tr.TensorLike, answer_texts: tr.TensorLike) -> Tuple[tf.Tensor, tf.Tensor]:
    """The answer lists of each question (sparse, ragged or dense [batch, n], as parsed from the QA ExampleGen's
    QA_ANSWER_STARTS and QA_ANSWER_TEXTS; [batch] passes through) -> the first gold answer's [batch] int64
    start and [batch] string text: -1 and "" where there is none (unanswerable: no window is labelled)."""
    return tf.cast(first_value(answer_starts, -1), _INT), first_value(answer_texts, "")


def count_windows(context_pieces: tf.Tensor, query_pieces: tf.Tensor, max_seq_length: int,
                  doc_stride: int) -> tf.Tensor:
    """Windows BERT's scheme makes for contexts of `context_pieces` and questions of `query_pieces` pieces
    (both [batch] int64, the question already cut), uncapped; at least 1."""
    capacity, stride = _capacity_and_stride(query_pieces, max_seq_length, doc_stride)
    return _window_count(context_pieces, capacity, stride)


def _window_count(pieces: tf.Tensor, capacity: tf.Tensor, stride: tf.Tensor) -> tf.Tensor:
    """The windowing rule, uncapped: windows of `capacity` pieces every `stride` pieces, the last the first that
    reaches the end; at least 1 (an empty text has one)."""
    beyond_first = tf.maximum(pieces - capacity, 0)
    return 1 + (beyond_first + stride - 1) // stride


def _window_spans(pieces: tf.Tensor, capacity: tf.Tensor, stride: tf.Tensor, max_windows: int):
    """[batch] piece counts, window capacities and strides -> (window_count [batch], capped at max_windows; each
    window's first piece and its piece count [batch, W]; in_use [batch, W])."""
    window_count = tf.minimum(_window_count(pieces, capacity, stride), max_windows)
    window = tf.range(max_windows, dtype=_INT)[None, :]  # [1, W]
    window_first = window * stride[:, None]  # [batch, W]: its first piece
    window_pieces = tf.clip_by_value(pieces[:, None] - window_first, 0, capacity[:, None])
    return window_count, window_first, window_pieces, window < window_count[:, None]


def _capacity_and_stride(query_pieces: tf.Tensor, max_seq_length: int, doc_stride: int):
    """Context pieces per window beside a question of `query_pieces`, and the step between window starts (BERT
    steps by min(window length, doc_stride))."""
    capacity = max_seq_length - query_pieces - 3
    return capacity, tf.minimum(tf.constant(doc_stride, _INT), capacity)


def answer_pieces(starts: tf.RaggedTensor, ends: tf.RaggedTensor, answer_start: tf.Tensor,
                  answer_end: tf.Tensor):
    """Pieces' original spans and answers' [answer_start, answer_end) ([batch] int64) -> (first, last, found):
    the answer's first and last piece indexes ([batch] int64; see the module docstring) and whether there are
    such pieces (an empty answer or a negative start has none)."""
    before = (ends <= tf.expand_dims(answer_start, 1)) & (starts < tf.expand_dims(answer_start, 1))
    first = tf.reduce_sum(tf.cast(before, _INT), axis=1)
    last = tf.reduce_sum(tf.cast(starts < tf.expand_dims(answer_end, 1), _INT), axis=1) - 1
    found = (answer_start >= 0) & (answer_end > answer_start) & (first <= last)
    return first, last, found


def _gather_rows(dense: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """dense [batch, m] (m >= 1), index [batch, W, L] clipped into [0, m) -> [batch, W, L]."""
    shape = tf.shape(index)
    flat = tf.reshape(index, [shape[0], -1])
    flat = tf.clip_by_value(flat, 0, tf.cast(tf.shape(dense)[1], flat.dtype) - 1)
    return tf.reshape(tf.gather(dense, flat, batch_dims=1), shape)


def _dense(ragged: tf.RaggedTensor, default) -> tf.Tensor:
    """[batch, (n)] -> [batch, max n + 1]: one padding column so that gathers never meet a 0-width tensor."""
    return tf.pad(ragged.to_tensor(default_value=default), [[0, 0], [0, 1]], constant_values=default)


def build_windows(
    tokenizer: tr.TextTokenizer,
    questions: tf.Tensor,
    contexts: tf.Tensor,
    max_seq_length: int,
    max_query_length: int,
    doc_stride: int,
    max_windows: int,
    answer_starts: Optional[tf.Tensor] = None,
    answer_texts: Optional[tf.Tensor] = None,
) -> Dict[str, tf.Tensor]:
    """[batch] question and context strings (raw; and for training the first gold answer's [batch] int
    character start in the context and [batch] text) -> the per-question windows of the module docstring.

    `tokenizer`: a `transform.TextTokenizer` (its special ids pack the windows). Static settings: a window must
    hold at least one context piece (max_seq_length - max_query_length - 3 >= 1), doc_stride >= 1,
    max_windows >= 1. Safe inside a tf.function over [None] strings (the Transform and serving).
    """
    if window_capacity(max_seq_length, max_query_length) < 1 or max_query_length < 1:
        raise ValueError(f"max_seq_length ({max_seq_length}) must exceed max_query_length ({max_query_length}) "
                         f"+ 3 so that a window holds a context piece; max_query_length must be >= 1")
    if doc_stride < 1 or max_windows < 1:
        raise ValueError(f"doc_stride and max_windows must be >= 1, got {doc_stride} and {max_windows}")
    if (answer_starts is None) != (answer_texts is None):
        raise ValueError("answer_starts and answer_texts come together (training) or not at all (serving)")
    special = tokenizer.special_ids
    question_ids = tokenizer(questions)[:, :max_query_length]
    context_ids, context_starts, context_ends = tokenizer.tokenize_with_offsets(contexts)

    query_pieces = tf.cast(question_ids.row_lengths(), _INT)
    context_pieces = tf.cast(context_ids.row_lengths(), _INT)
    capacity, stride = _capacity_and_stride(query_pieces, max_seq_length, doc_stride)
    window_count, window_first, window_pieces, in_use = _window_spans(context_pieces, capacity, stride, max_windows)

    position = tf.range(max_seq_length, dtype=_INT)[None, None, :]  # [1, 1, L]
    query = query_pieces[:, None, None]
    context_begin = query + 2  # [CLS] q [SEP]
    context_end = context_begin + window_pieces[:, :, None]  # where the last [SEP] is
    used = in_use[:, :, None]
    is_query = (position >= 1) & (position <= query)
    is_context = (position >= context_begin) & (position < context_end) & used
    is_sep = ((position == query + 1) | (position == context_end)) & used
    real = (position <= context_end) & used
    context_index = window_first[:, :, None] + position - context_begin

    def fill(value):
        return tf.constant(value, _INT)

    tokens = tf.fill(tf.shape(is_context), fill(special.pad_id))
    tokens = tf.where(is_context, _gather_rows(_dense(context_ids, special.pad_id), context_index), tokens)
    tokens = tf.where(is_query & used, _gather_rows(_dense(question_ids, special.pad_id),
                                                            tf.broadcast_to(position - 1, tf.shape(tokens))), tokens)
    tokens = tf.where(is_sep, fill(special.sep_id), tokens)
    tokens = tf.where((position == 0) & used, fill(special.cls_id), tokens)
    outputs = {
        features.TOKEN_IDS: tokens,
        features.SEGMENT_IDS: tf.cast((is_context | (position == context_end)) & used, _INT),
        features.PADDING_MASK: tf.cast(real, _INT),
        features.CONTEXT_CHAR_STARTS: tf.where(is_context, _gather_rows(_dense(context_starts, NO_OFFSET), context_index),
                                      fill(NO_OFFSET)),
        features.CONTEXT_CHAR_ENDS: tf.where(is_context, _gather_rows(_dense(context_ends, NO_OFFSET), context_index),
                                    fill(NO_OFFSET)),
        features.WINDOW_COUNT: window_count,
    }
    if answer_starts is not None:
        answer_start = tf.cast(answer_starts, _INT)
        answer_end = answer_start + tf.cast(tf.strings.length(tr.repair_utf8(answer_texts), unit="UTF8_CHAR"), _INT)
        first, last, found = answer_pieces(context_starts, context_ends, answer_start, answer_end)
        inside = (found[:, None] & in_use & (first[:, None] >= window_first)
                  & (last[:, None] < window_first + window_pieces))
        offset = query_pieces[:, None] + 2 - window_first
        outputs[features.START_POSITIONS] = tf.where(inside, first[:, None] + offset, fill(NO_ANSWER_POSITION))
        outputs[features.END_POSITIONS] = tf.where(inside, last[:, None] + offset, fill(NO_ANSWER_POSITION))
    for name, value in outputs.items():  # static shapes for TFT's schema and serving's signature
        outputs[name] = tf.ensure_shape(value, [None, max_windows, max_seq_length][:value.shape.rank])
    return outputs


def document_windows(
    tokenizer: tr.TextTokenizer,
    texts: tf.Tensor,
    max_seq_length: int,
    stride: int,
    max_windows: int,
    max_text_chars: Optional[int] = None,
) -> Dict[str, tf.Tensor]:
    """[batch] raw document strings -> their windows (module docstring: "Documents"): token_ids, segment_ids,
    padding_mask [batch, max_windows, max_seq_length] and window_count [batch], int64.

    `tokenizer`: a `transform.TextTokenizer`; `stride`: pieces between window starts (at most a window's
    `document_window_capacity`: larger is taken as that); `max_text_chars`: the prepared text is cut to this
    many characters first (`TransformOptions.text_chars`: enough for every window). Safe inside a tf.function
    over [None] strings (the Transform and serving)."""
    capacity = document_window_capacity(max_seq_length)
    if capacity < 1:
        raise ValueError(f"max_seq_length must be >= 3 for [CLS] a piece [SEP], got {max_seq_length}")
    if stride < 1 or max_windows < 1:
        raise ValueError(f"stride and max_windows must be >= 1, got {stride} and {max_windows}")
    special = tokenizer.special_ids
    ids = tf.cast(tokenizer(texts, max_text_chars), _INT)
    pieces = tf.cast(ids.row_lengths(), _INT)
    batch = tf.shape(pieces, out_type=_INT)[0]
    window_count, window_first, window_pieces, in_use = _window_spans(
        pieces, tf.fill([batch], tf.constant(capacity, _INT)),
        tf.fill([batch], tf.constant(document_window_stride(max_seq_length, stride), _INT)), max_windows)

    position = tf.range(max_seq_length, dtype=_INT)[None, None, :]  # [1, 1, L]
    used = in_use[:, :, None]
    end = 1 + window_pieces[:, :, None]  # where the [SEP] is
    is_piece = (position >= 1) & (position < end) & used
    tokens = tf.fill(tf.shape(is_piece), tf.constant(special.pad_id, _INT))
    tokens = tf.where(is_piece, _gather_rows(_dense(ids, special.pad_id), window_first[:, :, None] + position - 1),
                      tokens)
    tokens = tf.where((position == end) & used, tf.constant(special.sep_id, _INT), tokens)
    tokens = tf.where((position == 0) & used, tf.constant(special.cls_id, _INT), tokens)
    outputs = {
        features.TOKEN_IDS: tokens,
        features.SEGMENT_IDS: tf.zeros_like(tokens),
        features.PADDING_MASK: tf.cast((position <= end) & used, _INT),
        features.WINDOW_COUNT: window_count,
    }
    for name, value in outputs.items():  # static shapes for TFT's schema and serving's signature
        outputs[name] = tf.ensure_shape(value, [None, max_windows, max_seq_length][:value.shape.rank])
    return outputs


def windows_in_use(rows: Mapping[str, tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor, Dict[str, tf.Tensor]]:
    """Serving's view of rows of windows (`build_windows`' or `document_windows`' layout: `MODEL_INPUTS`
    [batch, W, L] and window_count [batch]) -> (in_use [batch, W]; used: [n] int64, the windows in use as rows of
    the [batch * W, L] reshape, in order, so a window's row is used // W; the model's int32 inputs [n, L] of those
    windows). Windows not in use are all padding: the model never runs on them."""
    shape = tf.shape(rows[features.TOKEN_IDS], out_type=_INT)  # [batch, W, L]
    in_use = tf.range(shape[1])[None, :] < tf.cast(rows[features.WINDOW_COUNT], _INT)[:, None]
    used = tf.where(tf.reshape(in_use, [-1]))[:, 0]
    inputs = {name: tf.cast(tf.gather(tf.reshape(rows[name], tf.stack([-1, shape[2]])), used), tf.int32)
              for name in features.MODEL_INPUTS}
    return in_use, used, inputs


def per_window_rows(per_question: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """A batch of per-question windows (`build_windows`' layout) -> one row per window in use, in order.

    Features [batch, W, ...] (any whose second dimension is W, token_ids' windows) keep their windows below
    window_count; the others, per-question [batch] features (window_count itself, an id), are repeated on each
    window of their question; features.WINDOW_INDEX and features.QUESTION_INDEX (the row in this batch) are added, int64. For
    tf.data: `questions.batch(n).map(per_window_rows).unbatch()`.
    """
    window_count = tf.cast(per_question[features.WINDOW_COUNT], _INT)
    windows = per_question[features.TOKEN_IDS].shape[1]
    batch = tf.shape(window_count, out_type=_INT)[0]
    in_use = tf.range(windows, dtype=_INT)[None, :] < window_count[:, None]
    question = tf.boolean_mask(tf.broadcast_to(tf.range(batch)[:, None], [batch, windows]), in_use)
    rows = {}
    for name, value in per_question.items():
        if value.shape.rank >= 2 and value.shape[1] == windows:
            rows[name] = tf.boolean_mask(value, in_use)
        else:
            rows[name] = tf.gather(value, question)
    rows[features.WINDOW_INDEX] = tf.boolean_mask(tf.broadcast_to(tf.range(windows, dtype=_INT)[None, :], [batch, windows]),
                                         in_use)
    rows[features.QUESTION_INDEX] = question
    return rows
