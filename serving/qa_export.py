"""Export an extractive question-answering model (`AlbertQuestionAnswerer`) with the contract's `qa` signature.

A TF Serving client sends a question and a context, two strings, and gets the answer back: everything between
runs in the SavedModel, in plain TensorFlow and tf-text ops (`serving/op_check.py` passes; no py_function):

1. `text_contract.windows.build_windows` on the raw strings: the same tokenizer, offsets and sliding windows
   as the QA Transform made for training, per question [batch, W, L].
2. The model on the windows in use only (windows at or past `window_count` are all padding: gathered out of
   the [batch * W, L] reshape before the model, their logits never exist).
3. The n-best search (`best_spans`), BERT's run_squad.py recipe: per window the `n_best_size` highest start
   and end logits among the window's CONTEXT positions, every pair with start <= end and at most
   `max_answer_length` pieces that covers at least one character (a bare word boundary piece "▁" covers none)
   is a candidate scored start_logit + end_logit, and the best candidate over all windows of the question is
   the answer. Unlike run_squad.py, question, special and padding positions are
   dropped BEFORE the top-k, so n_best_size counts only positions that can answer (run_squad.py takes the
   top-k over all positions and may be left with fewer candidates, or none).
4. The span's pieces -> characters: `context_char_starts` of its first piece, `context_char_ends` of its last
   (code points of the original context), and `answer_text` = that substring of the context as sent, so the
   answer is always text of the context (original spacing, full-width forms and case), never the
   tokenizer's normalized text.

No qualifying span (an empty context; a context of only whitespace): `answer_text` "", offsets -1 and
`score` `contract.NO_SPAN_SCORE`. SQuAD v2.0 models (`with_no_answer`) add `no_answer_score`: the lowest
[CLS] score (start_logits[0] + end_logits[0], the model's own `no_answer_score`) over the question's windows,
BERT's v2 rule; the answer is withheld ("", -1, -1) when no_answer_score > score + `no_answer_threshold`
(tuned on the dev set; 0.0 by default). `score` stays the best span's either way, so a client can apply
another threshold to the two scores it gets, though only the span that was not withheld comes with its text.

The module tracks the tokenizer (a tf.Module: its SentencePiece resources are saved with the graph) and the
model's variables, not the model, for the reason `export.ClassifierServingModule` gives. The export reuses
`serving/export.py`'s method-name rewrite, metadata facts and the atomic `storage.publish_directory`;
`ExportMetadata.task` is `contract.TASK_QA` and `qa_settings` records the settings baked into the graph.
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Any, Dict, Mapping, Optional, Union

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizers' tf-text ops)

from serving import contract, export as export_lib, layout, warmup
from text_contract import features, storage
from text_contract import transform as tr
from text_contract import windows as qa_windows
from text_contract.features import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS

logger = logging.getLogger(__name__)

# The answer-search defaults of BERT's run_squad.py (n_best_size, max_answer_length: in pieces).
DEFAULT_N_BEST_SIZE = 20
DEFAULT_MAX_ANSWER_LENGTH = 30
DEFAULT_NO_ANSWER_THRESHOLD = 0.0

# best_spans' output keys.
SPAN_SCORE = "score"
SPAN_FOUND = "found"
SPAN_WINDOW = "window"
SPAN_START = "start_position"
SPAN_END = "end_position"

_INT = tf.int64


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def best_spans(
    start_logits: tf.Tensor,
    end_logits: tf.Tensor,
    context_char_starts: tf.Tensor,
    context_char_ends: tf.Tensor,
    window_count: tf.Tensor,
    n_best_size: int = DEFAULT_N_BEST_SIZE,
    max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
) -> Dict[str, tf.Tensor]:
    """The best answer span of each question over its windows (step 3 of the module docstring).

    `start_logits`, `end_logits`: [batch, W, L] floats; `context_char_starts`, `context_char_ends`: [batch, W, L]
    int (build_windows': `windows.NO_OFFSET` marks positions outside the context); `window_count`: [batch].
    A candidate must also cover at least one character (end piece's end > start piece's start): a bare word
    boundary piece "▁" spans no characters, and a span of only such pieces would answer "".
    Returns [batch] tensors: `score` float32 (-inf when no span qualifies), `found` bool, and the span's
    `window`, `start_position`, `end_position` int64 (0 when not found). Ties go to the earlier window, then the higher-ranked start, then
    the higher-ranked end (top_k ranks equal logits by position).
    """
    n_best_size = _positive_int("n_best_size", n_best_size)
    max_answer_length = _positive_int("max_answer_length", max_answer_length)
    start_logits = tf.cast(start_logits, tf.float32)
    end_logits = tf.cast(end_logits, tf.float32)
    shape = tf.shape(start_logits, out_type=_INT)
    in_use = tf.range(shape[1])[None, :] < tf.cast(window_count, _INT)[:, None]  # [batch, W]
    candidate = tf.not_equal(tf.cast(context_char_starts, _INT), qa_windows.NO_OFFSET) & in_use[:, :, None]
    minus_inf = tf.constant(-np.inf, tf.float32)
    k = tf.minimum(tf.constant(n_best_size, tf.int32), tf.shape(start_logits)[2])
    start_values, start_index = tf.math.top_k(tf.where(candidate, start_logits, minus_inf), k)  # [batch, W, k]
    end_values, end_index = tf.math.top_k(tf.where(candidate, end_logits, minus_inf), k)
    # Every (start rank i, end rank j) pair of a window: [batch, W, k, k].
    pieces = end_index[:, :, None, :] - start_index[:, :, :, None] + 1
    first_char = tf.gather(tf.cast(context_char_starts, _INT), start_index, batch_dims=2)  # [batch, W, k]
    last_char = tf.gather(tf.cast(context_char_ends, _INT), end_index, batch_dims=2)
    valid = (tf.math.is_finite(start_values)[:, :, :, None] & tf.math.is_finite(end_values)[:, :, None, :]
             & (pieces >= 1) & (pieces <= max_answer_length)
             & (last_char[:, :, None, :] > first_char[:, :, :, None]))
    scores = tf.where(valid, start_values[:, :, :, None] + end_values[:, :, None, :], minus_inf)
    k64 = tf.cast(k, _INT)
    flat = tf.reshape(scores, tf.stack([shape[0], shape[1] * k64 * k64]))  # not -1: a batch of 0 is fine too
    best = tf.argmax(flat, axis=1, output_type=_INT)  # the first of equal maxima: the tie order above
    score = tf.reduce_max(flat, axis=1)
    found = tf.math.is_finite(score)
    window = best // (k64 * k64)
    row = tf.range(shape[0])
    start = tf.gather_nd(start_index, tf.stack([row, window, (best // k64) % k64], axis=1))
    end = tf.gather_nd(end_index, tf.stack([row, window, best % k64], axis=1))
    zero = tf.zeros_like(best)
    return {
        SPAN_SCORE: score,
        SPAN_FOUND: found,
        SPAN_WINDOW: tf.where(found, window, zero),
        SPAN_START: tf.where(found, tf.cast(start, _INT), zero),
        SPAN_END: tf.where(found, tf.cast(end, _INT), zero),
    }


def _per_window(values: tf.Tensor, used: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """The model's outputs for the windows in use ([n, ...], rows `used` of the [batch * W] reshape) -> [batch,
    W, ...] float32, zeros for windows not in use (which best_spans and the no-answer minimum never read)."""
    values = tf.cast(values, tf.float32)
    full = tf.concat([shape[:2], tf.shape(values, out_type=_INT)[1:]], 0)
    flat = tf.concat([[shape[0] * shape[1]], full[2:]], 0)
    return tf.reshape(tf.scatter_nd(used[:, None], values, flat), full)


class QaServingModule(tf.Module):
    """The tokenizer and a QA model's variables, with the contract's `qa` signature as the tf.function `qa`.

    `model`: an `AlbertQuestionAnswerer` (or any Keras model taking the encoder's int32 inputs and returning
    `start_logits`, `end_logits` [n, L], plus `no_answer_score` [n] with `with_no_answer`). `tokenizer`: the
    `TextTokenizer` the QA Transform used (`transform.make_tokenizer`). The window settings must be the
    Transform's (`max_seq_length`, `max_query_length`, `doc_stride`; `max_windows` may differ: serving may look
    further into long contexts). `with_no_answer`: default the model's own attribute. The function is traced
    here, so bad settings fail at construction.
    """

    def __init__(
        self,
        model: keras.Model,
        tokenizer: tr.TextTokenizer,
        max_seq_length: int,
        max_query_length: int,
        doc_stride: int,
        max_windows: int,
        n_best_size: int = DEFAULT_N_BEST_SIZE,
        max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
        no_answer_threshold: float = DEFAULT_NO_ANSWER_THRESHOLD,
        with_no_answer: Optional[bool] = None,
    ):
        super().__init__(name="albert_qa_serving")
        if not isinstance(tokenizer, tr.TextTokenizer):
            raise TypeError(f"tokenizer must be a text_contract.transform.TextTokenizer, got {type(tokenizer).__name__}")
        settings = {name: _positive_int(name, value) for name, value in (
            ("max_seq_length", max_seq_length), ("max_query_length", max_query_length), ("doc_stride", doc_stride),
            ("max_windows", max_windows), ("n_best_size", n_best_size), ("max_answer_length", max_answer_length))}
        if isinstance(no_answer_threshold, bool) or not isinstance(no_answer_threshold, (int, float)) \
                or not np.isfinite(no_answer_threshold):
            raise ValueError(f"no_answer_threshold must be a finite number, got {no_answer_threshold!r}")
        if with_no_answer is None:
            with_no_answer = bool(getattr(model, "with_no_answer", False))
        self.settings = dict(settings, no_answer_threshold=float(no_answer_threshold),
                             with_no_answer=bool(with_no_answer))
        self.with_no_answer = bool(with_no_answer)
        self.tokenizer = tokenizer  # tracked: its SentencePiece/vocabulary resources go into the SavedModel
        self.model_variables = export_lib.served_variables(model)
        answer = self._answer_fn(model)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.QUESTION),
                                      tf.TensorSpec([None], tf.string, name=contract.CONTEXT)])
        def qa(question, context):
            return answer(question, context)

        self.qa = qa
        self._concrete = qa.get_concrete_function()

    def _answer_fn(self, model: keras.Model):
        settings = dict(self.settings)
        tokenizer = self.tokenizer
        with_no_answer = self.with_no_answer

        def answer(question: tf.Tensor, context: tf.Tensor) -> Dict[str, tf.Tensor]:
            windows = qa_windows.build_windows(
                tokenizer, question, context, settings["max_seq_length"], settings["max_query_length"],
                settings["doc_stride"], settings["max_windows"])
            shape = tf.shape(windows[features.TOKEN_IDS], out_type=_INT)  # [batch, W, L]
            in_use, used, inputs = qa_windows.windows_in_use(windows)  # used: rows of the [batch * W, L] reshape
            outputs = model(inputs, training=False)
            missing = [key for key in (START_LOGITS, END_LOGITS) + ((NO_ANSWER_SCORE,) if with_no_answer else ())
                       if key not in outputs]
            if missing:
                raise ValueError(f"the QA model's outputs {sorted(outputs)} lack {missing} "
                                 f"(with_no_answer={with_no_answer})")
            spans = best_spans(_per_window(outputs[START_LOGITS], used, shape),
                               _per_window(outputs[END_LOGITS], used, shape),
                               windows[features.CONTEXT_CHAR_STARTS], windows[features.CONTEXT_CHAR_ENDS],
                               windows[features.WINDOW_COUNT],
                               settings["n_best_size"], settings["max_answer_length"])
            answered = spans[SPAN_FOUND]
            result = {}
            if with_no_answer:
                per_window = _per_window(outputs[NO_ANSWER_SCORE], used, shape)
                no_answer = tf.reduce_min(tf.where(in_use, per_window, np.inf), axis=1)  # >= 1 window in use
                answered &= ~(no_answer > spans[SPAN_SCORE] + settings["no_answer_threshold"])
                result[contract.NO_ANSWER_SCORE] = no_answer
            where = tf.stack([tf.range(shape[0]), spans[SPAN_WINDOW]], axis=1)
            start_char = tf.gather_nd(windows[features.CONTEXT_CHAR_STARTS],
                                      tf.concat([where, spans[SPAN_START][:, None]], 1))
            end_char = tf.gather_nd(windows[features.CONTEXT_CHAR_ENDS], tf.concat([where, spans[SPAN_END][:, None]], 1))
            none = tf.constant(contract.NO_ANSWER_CHAR, _INT)
            start_char = tf.where(answered, start_char, none)
            end_char = tf.where(answered, end_char, none)
            # The offsets count code points of the context after invalid UTF-8 became U+FFFD (as tokenizing does).
            text = tr.repair_utf8(context)
            result[contract.ANSWER_TEXT] = tf.strings.substr(
                text, tf.where(answered, start_char, 0), tf.where(answered, end_char - start_char, 0), unit="UTF8_CHAR")
            result[contract.SCORE] = tf.where(spans[SPAN_FOUND], spans[SPAN_SCORE], contract.NO_SPAN_SCORE)
            result[contract.START_CHAR] = start_char
            result[contract.END_CHAR] = end_char
            return result

        return answer

    def signatures(self) -> Dict[str, Any]:
        return {contract.QA_SIGNATURE: self._concrete}


def _write_qa_export(module: QaServingModule, staging: str, metadata: contract.ExportMetadata,
                     vocabulary_path: Optional[str]) -> None:
    tf.saved_model.save(module, staging, signatures=module.signatures())
    # What export.py does for its signatures: the contract's method name, whatever the saver wrote.
    export_lib.set_signature_method_names(staging, {contract.QA_SIGNATURE: contract.METHOD_NAMES[contract.QA_SIGNATURE]})
    tf.io.gfile.makedirs(os.path.join(staging, contract.ASSETS_EXTRA_DIR))
    with tf.io.gfile.GFile(contract.metadata_path(staging), "w") as handle:
        handle.write(metadata.to_json())
    if vocabulary_path:
        tf.io.gfile.copy(vocabulary_path, contract.vocabulary_path(staging), overwrite=True)
    warmup.write_warmup_requests(staging, metadata)
    problems = contract.missing_from_qa_contract(contract.list_signature_defs(staging), module.with_no_answer)
    if problems:
        raise export_lib.ExportError("the export does not fulfil the serving contract: " + "; ".join(problems))


def export_qa_model(
    model: keras.Model,
    tokenizer: tr.TextTokenizer,
    export_dir: Union[str, os.PathLike],
    *,
    max_seq_length: int,
    max_query_length: int,
    doc_stride: int,
    max_windows: int,
    n_best_size: int = DEFAULT_N_BEST_SIZE,
    max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
    no_answer_threshold: float = DEFAULT_NO_ANSWER_THRESHOLD,
    with_no_answer: Optional[bool] = None,
    model_name: str = layout.DEFAULT_MODEL_NAME,
    preset: Optional[str] = None,
    vocabulary_path: Optional[str] = None,
    extra_metadata: Optional[Mapping[str, Any]] = None,
    overwrite: bool = False,
) -> str:
    """Exports a QA `model` with the `qa` signature (see `QaServingModule` for the arguments) into `export_dir`,
    atomically, with metadata (`task` "qa") and TF Serving warmup requests. `vocabulary_path`: the vocabulary
    file the tokenizer was built from, for the metadata's hash and size and a copy beside it. An existing
    non-empty `export_dir` is an error unless `overwrite`. Returns `export_dir`.
    """
    export_dir = os.fspath(export_dir)
    encoder = getattr(model, "encoder", None)
    albert_config = encoder.albert_config if encoder is not None else None
    if albert_config is not None and max_seq_length > albert_config.max_position_embeddings:
        raise export_lib.ExportError(f"max_seq_length {max_seq_length} exceeds the encoder's "
                                     f"max_position_embeddings {albert_config.max_position_embeddings}")
    facts = export_lib.vocabulary_facts(vocabulary_path)
    vocab_size = facts.get("vocabulary_size", tokenizer.vocab_size)
    if albert_config is not None and vocab_size > albert_config.vocab_size:
        raise export_lib.ExportError(f"the vocabulary has {vocab_size} entries; the encoder's vocab_size is "
                                     f"{albert_config.vocab_size}")
    module = QaServingModule(model, tokenizer, max_seq_length, max_query_length, doc_stride, max_windows,
                             n_best_size, max_answer_length, no_answer_threshold, with_no_answer)
    metadata = contract.ExportMetadata(
        model_name=model_name,
        label_names=(),
        text_features=contract.QA_INPUTS,
        max_seq_length=int(max_seq_length),
        albert_config=albert_config.to_dict() if albert_config is not None else {},
        preset=preset,
        signatures=contract.qa_signature_table(module.with_no_answer),
        created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        versions=export_lib.package_versions(),
        extra=dict(extra_metadata or {}),
        task=contract.TASK_QA,
        qa_settings=dict(module.settings, tokenization=tokenizer.tokenization, lower_case=tokenizer.lower_case),
        **facts,
    )
    storage.register_filesystem(export_dir)
    if tf.io.gfile.exists(export_dir) and tf.io.gfile.listdir(export_dir) and not overwrite:
        raise FileExistsError(f"{export_dir}: exists and is not empty (pass overwrite=True to replace it)")
    storage.publish_directory(export_dir, lambda staging: _write_qa_export(module, staging, metadata, vocabulary_path),
                              written_last=(contract.SAVED_MODEL_FILE,))
    logger.info("exported question-answering model %s (with_no_answer=%s) to %s", model_name,
                module.with_no_answer, export_dir)
    return export_dir
