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
- `make_tokenizer(options)` / `build_tokenizer(bytes, tokenization, lower_case)`: a `TextTokenizer` for the
  vocabulary file's tokenization style (`vocabulary.TOKENIZATIONS`): "sentencepiece" (ours: normalize_text +
  the model), "albert" (an imported ALBERT SentencePiece model with the original ALBERT preprocessing and
  digit-comma split, as Hugging Face's AlbertTokenizer) or "wordpiece" (a BERT vocab.txt: BERT's basic
  tokenization + WordPiece over a table embedded in the graph, as Hugging Face's BertTokenizer); it maps
  [batch] strings to ragged ids and knows the vocabulary's special ids;
- `longest_first_lengths`: how many pieces of a and b survive longest-first truncation, in closed form;
- `pack_inputs`: [CLS] a [SEP] or [CLS] a [SEP] b [SEP], segment ids 0 for [CLS] a [SEP] and 1 for b [SEP],
  padded to a static max_seq_length, with the vocabulary's special ids (default ours: <pad>=0, [CLS]=2, [SEP]=3);
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
replaced, and text is cut to `TransformOptions.text_chars` characters after the style's preprocessing
before tokenization. Every op is in TF Serving's set (`serving.op_check`; no py_function).
custom_config: see `text_contract.transform_options`.

Task qa (custom_config "task": "qa"; issue 15): `qa_windows`, the QA ExampleGen's question and context cut into
the sliding windows of `text_contract.windows` (one row per question, windows along a fixed second axis), with
the first gold answer's positions and the question's id.

Long documents (task classify, custom_config "long_text": "windows"; issue 15 item 6): the text becomes the
windows of `text_contract.windows.document_windows` instead of one truncated sequence: token_ids, segment_ids,
padding_mask [batch, max_windows_per_document, max_seq_length] and window_count [batch], one row per document
with its one label_ids.
"""

import unicodedata
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import tensorflow as tf
import tensorflow_text as tf_text
import tensorflow_transform as tft
# The basic (pre-WordPiece) tokenizer of tf_text.BertTokenizer, its documented `basic_tokenizer_class`: used on
# its own so that over-long words can become [UNK] by characters, as Hugging Face's BertTokenizer does.
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer

from text_contract import alignment, features, normalization, pieces, vocabulary
from text_contract.transform_options import DEFAULT_MAX_SEQ_LENGTH, QA_TASK, TEXT_CHARS_PER_POSITION, TransformOptions

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


def repair_utf8(texts: tf.Tensor) -> tf.Tensor:
    """Invalid UTF-8 replaced by U+FFFD (bad input must not fail the graph)."""
    return tf.strings.unicode_transcode(
        texts, input_encoding="UTF-8", output_encoding="UTF-8", errors="replace", replacement_char=0xFFFD
    )


def normalize_text(texts: tf.Tensor, lower_case: bool = False) -> tf.Tensor:
    """TensorFlow twin of `text_contract.normalization.normalize` (invalid UTF-8 -> U+FFFD first)."""
    texts = repair_utf8(texts)
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


# --- the tokenizer of each tokenization style ------------------------------------------------------------

def _re2_ranges(ranges: Sequence[Tuple[int, int]]) -> str:
    """An RE2 character class matching the code-point ranges."""
    return "[" + "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


def _lower(texts: tf.Tensor) -> tf.Tensor:
    """tf.strings.lower without losing what follows a NUL (tf.strings.lower stops at the first one): the parts
    between NULs are lower-cased and joined again (each with a NUL after it, the last one removed, since
    reduce_join's separator cannot be a NUL)."""
    parts = tf.strings.split(texts, "\x00")
    parts = tf.ragged.map_flat_values(lambda p: tf.strings.join([tf.strings.lower(p, encoding="utf-8"), "\x00"]), parts)
    return tf.strings.regex_replace(tf.strings.reduce_join(parts, axis=1), "\x00\\z", "")


_BOUNDARY = pieces.WORD_BOUNDARY
# Characters whose decomposition the ICU inside tensorflow-text lacks (Unicode 13 additions: those NFKC leaves
# alone there, `normalization.ICU_NFKC_INERT_CODEPOINTS`, and U+11938, which NFKC recomposes): the "albert"
# preprocessing decomposes them itself, as Python's unicodedata does (the code-point sweep test finds any other).
_ICU_NFKD_MISSING = {cp: unicodedata.normalize("NFKD", chr(cp))
                     for cp in normalization.ICU_NFKC_INERT_CODEPOINTS + (0x11938,)}


def _decompose_icu_missing(texts: tf.Tensor) -> tf.Tensor:
    for cp, decomposed in _ICU_NFKD_MISSING.items():
        texts = tf.strings.regex_replace(texts, f"\\x{{{cp:X}}}", decomposed)
    return texts


# Hugging Face's BertTokenizer._clean_text: NUL, U+FFFD and control characters (category C but tab, newline,
# carriage return) removed; whitespace (category Z, tab, newline, carriage return) to a space.
_BERT_REMOVED_RE2 = r"[^\P{C}\t\n\r]|\x{FFFD}"
_BERT_WHITESPACE_RE2 = r"[\t\n\r\p{Z}]"


class TextTokenizer(tf.Module):
    """[batch] raw strings -> [batch, (ids)] int64 ids of one tokenization style (`vocabulary.TOKENIZATIONS`).

    `prepare`: the style's text preprocessing (what `encode_texts` cuts to `max_text_chars`); `tokenize`:
    prepared text -> ids; calling it does both. Attributes: `tokenization`, `lower_case`, `special_ids`
    (`vocabulary.SpecialIds`), `vocab_size`. A tf.Module, so a SavedModel holding it tracks its resources.
    Build one with `make_tokenizer` / `build_tokenizer`.
    """

    def __init__(self, tokenization: str, lower_case: bool, special_ids: vocabulary.SpecialIds, vocab_size: int):
        super().__init__(name=f"{tokenization}_tokenizer")
        self.tokenization = tokenization
        self.lower_case = bool(lower_case)
        self.special_ids = special_ids
        self.vocab_size = int(vocab_size)

    def prepare(self, texts: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        raise NotImplementedError

    def __call__(self, texts: tf.Tensor, max_text_chars: Optional[int] = None) -> tf.RaggedTensor:
        texts = self.prepare(texts)
        if max_text_chars:
            texts = tf.strings.substr(texts, 0, max_text_chars, unit="UTF8_CHAR")
        return self.tokenize(texts)

    def tokenize_with_offsets(self, texts: tf.Tensor, max_text_chars: Optional[int] = None):
        """[batch] raw strings -> (ids, starts, ends), each [batch, (pieces)] int64: the ids of `__call__` and each
        piece's [start, end) in code points of the original text (`text_contract.alignment` says how a piece
        starting with the word boundary, expansions and removed characters map)."""
        aligned = self.prepare_aligned(alignment.align(repair_utf8(texts)))
        if max_text_chars:
            aligned = alignment.cut(aligned, max_text_chars)
        ids, byte_starts, byte_ends = self._tokenize_with_byte_offsets(alignment.to_strings(aligned))
        starts, ends = alignment.source_spans(aligned, byte_starts, byte_ends)
        return self._split_with_offsets(ids, starts, ends)

    def prepare_aligned(self, text):
        """`prepare` on an `alignment.AlignedText` (repaired already): the same text, each code point with its span."""
        raise NotImplementedError

    def _tokenize_with_byte_offsets(self, texts: tf.Tensor):
        """Prepared text -> piece ids and their [start, end) byte offsets in it, [batch, (pieces)] each."""
        raise NotImplementedError

    def _split_with_offsets(self, ids: tf.RaggedTensor, starts: tf.RaggedTensor, ends: tf.RaggedTensor):
        """What `tokenize` does after the model, with the offsets following (only "albert" does anything)."""
        return tf.cast(ids, OUTPUT_DTYPE), starts, ends


class _SentencePieceTokenizer(TextTokenizer):
    """"sentencepiece": our vocabularies: `normalize_text`, then the model (trained with the identity rule)."""

    def __init__(self, model: bytes, lower_case: bool, vocab_size: int):
        super().__init__(vocabulary.SENTENCEPIECE, lower_case, vocabulary.DEFAULT_SPECIAL_IDS, vocab_size)
        self._model = tf_text.SentencepieceTokenizer(model=model, out_type=tf.int32)

    def prepare(self, texts):
        return normalize_text(texts, self.lower_case)

    def tokenize(self, texts):
        return tf.cast(self._model.tokenize(texts), OUTPUT_DTYPE)

    def prepare_aligned(self, text):
        text = alignment.normalize(alignment.remove(text, _REMOVED_RE2), "NFKC")
        if self.lower_case:
            text = alignment.map_chars(text, lambda t: tf.strings.lower(t, encoding="utf-8"))
        return alignment.collapse_whitespace(text)

    def _tokenize_with_byte_offsets(self, texts):
        return self._model.tokenize_with_offsets(texts)


class _AlbertTokenizer(TextTokenizer):
    """"albert": an ALBERT SentencePiece model with the original ALBERT preprocessing, the graph twin of
    `vocabulary.albert_preprocess` / `albert_encode` (the model's own normalizer, nmt_nfkc in ALBERT's, runs
    inside SentencePiece)."""

    def __init__(self, model: bytes, lower_case: bool, special_ids: vocabulary.SpecialIds, vocab_size: int):
        super().__init__(vocabulary.ALBERT, lower_case, special_ids, vocab_size)
        self._model = tf_text.SentencepieceTokenizer(model=model, out_type=tf.int32)
        # Built from the Python character predicates the twin uses (str.isdigit, unicodedata.combining).
        self._digit_comma_re2 = "(?s).*" + _re2_ranges(vocabulary.digit_ranges()) + vocabulary.ALBERT_COMMA
        self._combining_re2 = _re2_ranges(vocabulary.combining_ranges()) if lower_case else None

    def prepare(self, texts):
        texts = repair_utf8(texts)
        if self.lower_case:
            texts = _lower(texts)
        texts = tf.strings.regex_replace(texts, _WHITESPACE_RUN_RE2, " ")
        texts = tf.strings.regex_replace(texts, "^ +| +$", "")
        texts = tf.strings.regex_replace(texts, "``", '"')
        texts = tf.strings.regex_replace(texts, "''", '"')
        if self.lower_case:  # keep_accents = not lower_case
            texts = tf_text.normalize_utf8(_decompose_icu_missing(texts), "NFKD")
            texts = tf.strings.regex_replace(texts, self._combining_re2, "")
            texts = _lower(texts)
        return texts

    def tokenize(self, texts):
        ids = self._model.tokenize(texts)
        return tf.cast(ids.with_flat_values(self._split_digit_commas(ids.flat_values)).merge_dims(1, 2), OUTPUT_DTYPE)

    def prepare_aligned(self, text):
        if self.lower_case:
            text = alignment.map_chars(text, _lower)
        text = alignment.collapse_whitespace(text)
        text = alignment.replace_pairs(text, "`", '"')
        text = alignment.replace_pairs(text, "'", '"')
        if self.lower_case:
            text = alignment.normalize(alignment.map_chars(text, _decompose_icu_missing), "NFKD")
            text = alignment.map_chars(alignment.remove(text, self._combining_re2), _lower)
        return text

    def _tokenize_with_byte_offsets(self, texts):
        return self._model.tokenize_with_offsets(texts)

    def _split_with_offsets(self, ids, starts, ends):
        # The split pieces of "▁1990,": the comma spans the piece's last character, the number's pieces the rest.
        split = self._split_digit_commas(ids.flat_values)  # [pieces, (k)]
        piece = split.value_rowids()
        count = tf.gather(split.row_lengths(), piece)
        index = tf.ragged.range(split.row_lengths()).flat_values
        start, end = tf.gather(starts.flat_values, piece), tf.gather(ends.flat_values, piece)
        comma = (count > 1) & tf.equal(index, count - 1)
        last_char = tf.maximum(end - 1, start)
        start, end = tf.where(comma, last_char, start), tf.where((count > 1) & ~comma, last_char, end)

        def rows(values):
            return ids.with_flat_values(split.with_flat_values(values)).merge_dims(1, 2)

        return tf.cast(rows(split.flat_values), OUTPUT_DTYPE), rows(start), rows(end)

    def _split_digit_commas(self, ids: tf.Tensor) -> tf.RaggedTensor:
        """[n] piece ids -> [n, (ids)]: each piece as it is, but one like "▁1990," becomes the pieces of "1990"
        (without a leading "▁" unless the piece had one) and "," (ALBERT's encode_pieces)."""
        strings = self._model.id_to_string(ids)
        matched = tf.strings.regex_full_match(strings, self._digit_comma_re2)
        targets = tf.boolean_mask(strings, matched)
        body = tf.strings.regex_replace(tf.strings.regex_replace(targets, ",$", ""), _BOUNDARY, "")
        sub = self._model.tokenize(body)  # [m, (k)]
        sub_strings = self._model.id_to_string(sub.flat_values)
        first = tf.equal(tf.ragged.range(sub.row_lengths()).flat_values, 0)
        target_has_boundary = tf.strings.regex_full_match(targets, f"(?s){_BOUNDARY}.*")
        strip = (first & ~tf.gather(target_has_boundary, sub.value_rowids())
                 & tf.strings.regex_full_match(sub_strings, f"(?s){_BOUNDARY}.*"))
        drop = strip & tf.equal(sub_strings, _BOUNDARY)
        stripped = self._model.string_to_id(tf.strings.regex_replace(sub_strings, f"^{_BOUNDARY}", ""))
        sub = tf.ragged.boolean_mask(sub.with_flat_values(tf.where(strip, stripped, sub.flat_values)),
                                     sub.with_flat_values(~drop))
        comma = self._model.string_to_id(tf.fill(tf.expand_dims(sub.nrows(), 0), vocabulary.ALBERT_COMMA))
        sub = tf.concat([sub, tf.RaggedTensor.from_tensor(tf.expand_dims(tf.cast(comma, sub.dtype), 1))], axis=1)
        # Row i of the result: [ids[i]], or the next row of `sub` where piece i matched.
        rows = tf.concat([tf.RaggedTensor.from_tensor(tf.expand_dims(ids, 1)), sub], axis=0)
        n = tf.size(ids, out_type=tf.int64)
        index = tf.where(matched, n + tf.cumsum(tf.cast(matched, tf.int64)) - 1, tf.range(n))
        return tf.gather(rows, index)


def _unk_too_long_words(words: tf.RaggedTensor) -> Tuple[tf.RaggedTensor, tf.Tensor]:
    """Words longer than WORDPIECE_MAX_CHARS_PER_WORD characters become [UNK] whole, as in Hugging Face's
    BertTokenizer; also which words (flat) were."""
    too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > vocabulary.WORDPIECE_MAX_CHARS_PER_WORD
    return words.with_flat_values(tf.where(too_long, vocabulary.WORDPIECE_UNK, words.flat_values)), too_long


class _WordPieceTokenizer(TextTokenizer):
    """"wordpiece": a BERT vocab.txt, as Hugging Face's BertTokenizer(do_lower_case=lower_case): its text cleaning,
    NFC, lower case and accents stripped (NFD without category Mn) when lower_case, then tf_text's BERT basic
    tokenizer (whitespace, punctuation and CJK characters split) and WordPiece over a table embedded in the graph."""

    def __init__(self, tokens: Sequence[str], lower_case: bool, special_ids: vocabulary.SpecialIds):
        super().__init__(vocabulary.WORDPIECE, lower_case, special_ids, len(tokens))
        ids = vocabulary.wordpiece_ids(list(tokens))
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(list(ids), tf.string),
                                                tf.constant(list(ids.values()), tf.int64)),
            default_value=special_ids.unk_id)
        # Case and accents are done in `prepare`, the Hugging Face way (str.lower, not ICU case folding).
        self._basic = BasicTokenizer(lower_case=False)
        self._wordpiece = tf_text.WordpieceTokenizer(
            self._table, suffix_indicator=vocabulary.WORDPIECE_SUFFIX,
            # A word of at most WORDPIECE_MAX_CHARS_PER_WORD characters has at most 4 bytes each; longer
            # words are [UNK] already (`tokenize`).
            max_bytes_per_word=4 * vocabulary.WORDPIECE_MAX_CHARS_PER_WORD, token_out_type=tf.int64,
            unknown_token=vocabulary.WORDPIECE_UNK, split_unknown_characters=False)

    def prepare(self, texts):
        texts = tf.strings.regex_replace(repair_utf8(texts), _BERT_REMOVED_RE2, "")
        texts = tf.strings.regex_replace(texts, _BERT_WHITESPACE_RE2, " ")
        texts = tf_text.normalize_utf8(texts, "NFC")
        if self.lower_case:
            texts = tf_text.normalize_utf8(_lower(texts), "NFD")
            texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
        return texts

    def prepare_aligned(self, text):
        text = alignment.remove(text, _BERT_REMOVED_RE2)
        text = alignment.normalize(alignment.substitute(text, _BERT_WHITESPACE_RE2, ord(" ")), "NFC")
        if self.lower_case:
            text = alignment.remove(alignment.normalize(alignment.map_chars(text, _lower), "NFD"), r"\p{Mn}")
        return text

    def _tokenize_with_byte_offsets(self, texts):
        words, word_starts, word_ends = self._basic.tokenize_with_offsets(texts)
        words, too_long = _unk_too_long_words(words)
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(words)  # [batch, (words), (pieces)], in the word
        word = ids.values.value_rowids()
        word_start, word_end = tf.gather(word_starts.flat_values, word), tf.gather(word_ends.flat_values, word)
        # A word made [UNK] for its length spans itself, not the 5 bytes of "[UNK]".
        whole = tf.gather(too_long, word)
        starts = tf.where(whole, word_start, word_start + starts.flat_values)
        ends = tf.where(whole, word_end, word_start + ends.flat_values)
        return ids.merge_dims(1, 2), ids.with_flat_values(starts).merge_dims(1, 2), ids.with_flat_values(
            ends).merge_dims(1, 2)

    def tokenize(self, texts):
        words, _ = _unk_too_long_words(self._basic.tokenize(texts))
        return self._wordpiece.tokenize(words).merge_dims(1, 2)


def build_tokenizer(data: bytes, tokenization: str = vocabulary.DEFAULT_TOKENIZATION, lower_case: bool = False,
                    source: str = "the vocabulary") -> TextTokenizer:
    """The TextTokenizer of `tokenization` over a vocabulary file's bytes (embedded in the graph: it does not need
    the file afterwards); VocabularyError naming `source` when the file does not suit the tokenization.

    "sentencepiece" (ours) requires the special pieces at `pieces`' ids; "albert" reads them from the model;
    "wordpiece" from the vocab.txt's lines.
    """
    kind = vocabulary.detect_kind(data, source)
    vocabulary.check_tokenization(tokenization, kind, source)
    if tokenization == vocabulary.SENTENCEPIECE:
        return _SentencePieceTokenizer(data, lower_case, pieces.check_special_pieces(data, source))
    info = vocabulary.read_vocabulary(data, source)
    if tokenization == vocabulary.ALBERT:
        return _AlbertTokenizer(data, lower_case, info.special_ids, info.size)
    return _WordPieceTokenizer(vocabulary.wordpiece_tokens(data, source), lower_case, info.special_ids)


def make_tokenizer(options: TransformOptions) -> TextTokenizer:
    """The tokenizer `preprocessing_fn` uses: `options.tokenization` over the file at
    `options.sentencepiece_model_path` (whatever its kind), with `options.lower_case`."""
    if not options.sentencepiece_model_path:
        raise ValueError("TransformOptions.sentencepiece_model_path (the vocabulary file) is required to tokenize")
    with tf.io.gfile.GFile(options.sentencepiece_model_path, "rb") as f:
        data = f.read()
    return build_tokenizer(data, options.tokenization, options.lower_case, options.sentencepiece_model_path)


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
    ids_a: tf.RaggedTensor, ids_b: Optional[tf.RaggedTensor], max_seq_length: int,
    special_ids: vocabulary.SpecialIds = vocabulary.DEFAULT_SPECIAL_IDS,
) -> Dict[str, tf.Tensor]:
    """[CLS] a [SEP] (b [SEP]) with segment ids and padding mask, truncated longest-first, padded.

    `ids_a`, `ids_b`: [batch, (pieces)] ragged piece ids; `special_ids`: the vocabulary's [CLS], [SEP] and
    padding ids (default: ours). Returns int64 [batch, max_seq_length] tensors.
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
    cls = tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), tf.constant(special_ids.cls_id, OUTPUT_DTYPE)))
    sep = tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), tf.constant(special_ids.sep_id, OUTPUT_DTYPE)))
    tokens = [cls, parts[0], sep]
    segments = [tf.zeros_like(cls), tf.zeros_like(parts[0]), tf.zeros_like(sep)]
    if len(parts) == 2:
        tokens += [parts[1], sep]
        segments += [tf.ones_like(parts[1]), tf.ones_like(sep)]
    tokens = tf.concat(tokens, axis=1)
    segments = tf.concat(segments, axis=1)
    shape = [None, max_seq_length]
    return {
        features.TOKEN_IDS: tokens.to_tensor(default_value=special_ids.pad_id, shape=shape),
        features.SEGMENT_IDS: segments.to_tensor(default_value=0, shape=shape),
        features.PADDING_MASK: tf.ones_like(tokens).to_tensor(default_value=0, shape=shape),
    }


def encode_texts(
    tokenizer: Union[TextTokenizer, tf_text.SentencepieceTokenizer],
    texts: Sequence[tf.Tensor],
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    lower_case: Optional[bool] = None,
    max_text_chars: Optional[int] = None,
    special_ids: Optional[vocabulary.SpecialIds] = None,
) -> Dict[str, tf.Tensor]:
    """One or two [batch] string tensors (raw text) -> token_ids, segment_ids, padding_mask.

    `tokenizer`: a TextTokenizer (`make_tokenizer`; it knows its case and special ids, `lower_case` may only
    repeat its own), or a bare tf_text.SentencepieceTokenizer of one of our vocabularies (`load_tokenizer`:
    `normalize_text` with `lower_case`, default False, and our special ids). `special_ids` overrides the
    tokenizer's. Text is cut to `max_text_chars` characters (default TEXT_CHARS_PER_POSITION per position)
    after the tokenizer's preprocessing, before tokenization.
    """
    if len(texts) not in (1, 2):
        raise ValueError(f"expected one text (single) or two (pair), got {len(texts)}")
    if isinstance(tokenizer, TextTokenizer):
        if lower_case is not None and bool(lower_case) != tokenizer.lower_case:
            raise ValueError(f"lower_case={lower_case} but the {tokenizer.tokenization} tokenizer was built with "
                             f"lower_case={tokenizer.lower_case}")
        special_ids = special_ids or tokenizer.special_ids
        encode = tokenizer
    else:
        special_ids = special_ids or vocabulary.DEFAULT_SPECIAL_IDS

        def encode(text, chars):
            return tokenizer.tokenize(tf.strings.substr(normalize_text(text, bool(lower_case)), 0, chars,
                                                        unit="UTF8_CHAR"))
    max_text_chars = max_text_chars or TEXT_CHARS_PER_POSITION * max_seq_length
    ids = [encode(text, max_text_chars) for text in texts]
    return pack_inputs(ids[0], ids[1] if len(ids) == 2 else None, max_seq_length, special_ids)


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


def qa_windows(inputs: Mapping[str, TensorLike], options: TransformOptions,
               tokenizer: TextTokenizer) -> Dict[str, tf.Tensor]:
    """Task qa: the QA ExampleGen's raw features (`features.QA_*`) -> one row per question in the per-question
    window layout of `text_contract.windows` (token_ids, segment_ids, padding_mask, context_char_starts/ends
    [W, L]; start_positions, end_positions [W]; window_count), plus the question's id (`features.QA_ID`,
    passed through: evaluation scores by id against the raw examples' answers).

    Training targets the FIRST gold answer (`windows.first_answers`); a question marked is_impossible, or with
    no answer, targets [CLS] (0) in every window."""
    from text_contract import windows  # here: windows imports this module

    questions = to_text(_feature(inputs, features.QA_QUESTION))
    contexts = to_text(_feature(inputs, features.QA_CONTEXT))
    answer_starts, answer_texts = windows.first_answers(_feature(inputs, features.QA_ANSWER_STARTS),
                                                        _feature(inputs, features.QA_ANSWER_TEXTS))
    impossible = tf.cast(windows.first_value(_feature(inputs, features.QA_IS_IMPOSSIBLE), 0), tf.int64) > 0
    # A start of -1 labels no window (windows.answer_pieces): every window then targets [CLS].
    answer_starts = tf.where(impossible, tf.constant(-1, tf.int64), answer_starts)
    outputs = windows.build_windows(tokenizer, questions, contexts, options.max_seq_length, options.max_query_length,
                                    options.doc_stride, options.max_windows, answer_starts, answer_texts)
    outputs[features.QA_ID] = to_text(_feature(inputs, features.QA_ID))
    return outputs


def preprocessing_fn(inputs: Mapping[str, TensorLike], custom_config: Optional[Mapping[str, Any]] = None):
    """TFT entry point: raw features -> token_ids, segment_ids, padding_mask (and label_ids); with long_text
    "windows" those per document, with window_count (`windows.document_windows`); for task qa the per-question
    windows of `qa_windows`."""
    options = TransformOptions.from_custom_config(custom_config)
    tokenizer = make_tokenizer(options)
    if options.task == QA_TASK:
        return qa_windows(inputs, options, tokenizer)
    texts = [to_text(_feature(inputs, name)) for name in options.text_features]
    if options.windows:
        from text_contract import windows  # here: windows imports this module

        outputs = windows.document_windows(tokenizer, texts[0], options.max_seq_length, options.window_stride,
                                           options.max_windows_per_document, options.text_chars)
    else:
        outputs = encode_texts(tokenizer, texts, options.max_seq_length, max_text_chars=options.text_chars)
    if options.label_feature:
        outputs[features.LABEL_IDS] = label_ids(_feature(inputs, options.label_feature), options.label_values)
    return outputs
