"""Text preprocessing that remembers where each character came from: the tokenizers' offsets into the
original text (`TextTokenizer.tokenize_with_offsets`), for question answering's windows (`text_contract.windows`).

Offsets (`TextTokenizer.tokenize_with_offsets`, every tokenization style). Each piece gets a [start, end) span
in CODE POINTS of the original context (after invalid UTF-8 is replaced by U+FFFD, as every style does first;
for valid UTF-8 that is the text as given). The style's preprocessing (NFKC/NFKD/NFC, lower case, whitespace
runs to one space, removed characters, ALBERT's `` -> ") is replayed on code points that each remember the
original span they came from (`AlignedText`), so the prepared text is exactly the style's `prepare` (tested)
and a piece's byte offsets in it map back to the original:
- a piece starting with the word boundary "▁" points at its word, not at the space before it: "▁world" in
  "hello  world" is [7, 12); a bare "▁" piece (SentencePiece splits "▁" off a word it has no piece for) gets
  the empty span [s, s) where s is the start of the word that follows it;
- a character that normalization expands ("ﬁ" -> "fi", "½" -> "1⁄2") gives every piece of its expansion its
  span, so such pieces may share a span; characters that compose (e + U+0301 -> é) give one span over both;
- ALBERT's digit-comma split (a piece like "▁1990," re-tokenized as "▁1990" and ","): the comma spans the
  piece's last character and each of the other pieces the rest of the piece (pieces of one number may share
  a span);
- removed characters (NUL, U+FEFF; BERT's control characters; combining marks that "albert"/"wordpiece"
  drop when lower-casing) and whitespace belong to no piece.
"""

from typing import NamedTuple

import tensorflow as tf
import tensorflow_text as tf_text

from text_contract import normalization

_SPACE = ord(" ")
_WHITESPACE_RE2 = normalization.re2_class(normalization.WHITESPACE_CODEPOINTS)
_INT = tf.int64


class AlignedText(NamedTuple):
    """Text as code points, each with the [start, end) code-point span of the original text it comes from.

    chars: [batch, (n)] int32; starts, ends: [batch, (n)] int64; source_lengths: [batch] int64, the original's
    code points (where an empty span at the end of a text points).
    """

    chars: tf.RaggedTensor
    starts: tf.RaggedTensor
    ends: tf.RaggedTensor
    source_lengths: tf.Tensor

    def _with(self, chars_flat, starts_flat, ends_flat, row_splits) -> "AlignedText":
        def rows(values):
            return tf.RaggedTensor.from_row_splits(values, row_splits, validate=False)
        return AlignedText(rows(chars_flat), rows(starts_flat), rows(ends_flat), self.source_lengths)


def align(texts: tf.Tensor) -> AlignedText:
    """[batch] valid UTF-8 strings (`transform.repair_utf8` them first) -> each code point its own span."""
    chars = tf.strings.unicode_decode(texts, "UTF-8")
    lengths = tf.cast(chars.row_lengths(), _INT)
    starts = tf.ragged.range(lengths, row_splits_dtype=chars.row_splits.dtype)
    return AlignedText(chars, starts, starts + 1, lengths)


def to_strings(text: AlignedText) -> tf.Tensor:
    """The [batch] UTF-8 strings of the aligned code points."""
    return tf.strings.unicode_encode(text.chars, "UTF-8")


def _char_strings(text: AlignedText) -> tf.Tensor:
    """Each code point as its own string: [total code points]."""
    return tf.strings.unicode_encode(tf.expand_dims(text.chars.flat_values, 1), "UTF-8")


def _positions(text: AlignedText) -> tf.Tensor:
    """Each code point's index in its row, flat."""
    return tf.ragged.range(text.chars.row_lengths()).flat_values


def matches(text: AlignedText, re2_class: str) -> tf.Tensor:
    """Flat bool: which code points the RE2 character class matches."""
    return tf.strings.regex_full_match(_char_strings(text), re2_class)


def keep(text: AlignedText, kept: tf.Tensor) -> AlignedText:
    """Only the code points where the flat bool `kept` is true."""
    mask = text.chars.with_flat_values(kept)
    return AlignedText(tf.ragged.boolean_mask(text.chars, mask), tf.ragged.boolean_mask(text.starts, mask),
                       tf.ragged.boolean_mask(text.ends, mask), text.source_lengths)


def remove(text: AlignedText, re2_class: str) -> AlignedText:
    """The code points the class matches removed (regex_replace(class, ""))."""
    return keep(text, ~matches(text, re2_class))


def substitute(text: AlignedText, re2_class: str, codepoint: int) -> AlignedText:
    """The code points the class matches replaced by one code point (regex_replace(class, chr(codepoint)))."""
    flat = text.chars.flat_values
    return text._with(tf.where(matches(text, re2_class), tf.constant(codepoint, flat.dtype), flat),
                      text.starts.flat_values, text.ends.flat_values, text.chars.row_splits)


def cut(text: AlignedText, max_chars: int) -> AlignedText:
    """The first max_chars code points of each row."""
    return keep(text, _positions(text) < max_chars)


def collapse_whitespace(text: AlignedText, re2_class: str = _WHITESPACE_RE2) -> AlignedText:
    """Each run of the class's characters -> one space (spanning the run's first character), then spaces at
    either end removed: regex_replace(class + "+", " ") and regex_replace("^ +| +$", "")."""
    flat = text.chars.flat_values
    white = matches(text, re2_class)
    previous_white = tf.concat([[False], white[:-1]], 0) & (_positions(text) > 0)
    spaced = text._with(tf.where(white, tf.constant(_SPACE, flat.dtype), flat), text.starts.flat_values,
                        text.ends.flat_values, text.chars.row_splits)
    runs = keep(spaced, ~(white & previous_white))
    position = _positions(runs)
    last = tf.gather(runs.chars.row_lengths(), runs.chars.value_rowids()) - 1
    space = tf.equal(runs.chars.flat_values, _SPACE)
    return keep(runs, ~(space & ((position == 0) | (position == last))))


def replace_pairs(text: AlignedText, char: str, replacement: str) -> AlignedText:
    """Each pair of `char` -> `replacement` (one code point over both), left to right without overlap, as
    str.replace(char * 2, replacement): in a run of k, the code points at even positions with a successor in
    the run start a pair, those at odd positions end one."""
    flat = text.chars.flat_values
    n = tf.size(flat, out_type=_INT)
    is_char = tf.equal(flat, ord(char))
    position = _positions(text)
    same_row_before = tf.concat([[False], is_char[:-1]], 0) & (position > 0)
    row_length = tf.gather(text.chars.row_lengths(), text.chars.value_rowids())
    same_row_after = tf.concat([is_char[1:], [False]], 0) & (position < row_length - 1)
    run_start = is_char & ~same_row_before
    index = tf.range(n)
    run_starts = tf.concat([tf.boolean_mask(index, run_start), [0]], 0)  # [0]: gather needs one element
    run = tf.maximum(tf.cumsum(tf.cast(run_start, _INT)) - 1, 0)
    in_run = index - tf.gather(run_starts, run)
    pair_start = is_char & (in_run % 2 == 0) & same_row_after
    pair_end = is_char & (in_run % 2 == 1)
    ends = text.ends.flat_values
    next_end = tf.concat([ends[1:], ends[-1:]], 0)
    replaced = text._with(tf.where(pair_start, tf.constant(ord(replacement), flat.dtype), flat),
                          text.starts.flat_values, tf.where(pair_start, next_end, ends), text.chars.row_splits)
    return keep(replaced, ~pair_end)


def map_chars(text: AlignedText, fn) -> AlignedText:
    """`fn` ([n] strings -> [n] strings, e.g. lower case) applied to the whole text; each code point's result
    takes its span. The lengths come from `fn` on each code point alone; the values from `fn` on the whole
    text (lower case is context-dependent: a final Σ lowers to ς), per row where both have the same length,
    else from the code points alone."""
    mapped = tf.strings.unicode_decode(fn(_char_strings(text)), "UTF-8")  # [n, (k)]
    expansion = tf.cast(mapped.row_lengths(), _INT)
    row_lengths = tf.reduce_sum(text.chars.with_flat_values(expansion), axis=1)
    alone = tf.RaggedTensor.from_row_lengths(mapped.flat_values, row_lengths, validate=False)
    whole = tf.strings.unicode_decode(fn(to_strings(text)), "UTF-8")
    same = tf.equal(tf.cast(whole.row_lengths(), _INT), row_lengths)
    batch = tf.size(row_lengths, out_type=_INT)
    rows = tf.concat([whole.with_row_splits_dtype(alone.row_splits.dtype), alone], 0)
    chars = tf.gather(rows, tf.where(same, tf.range(batch), batch + tf.range(batch)))
    return text._with(chars.flat_values, tf.repeat(text.starts.flat_values, expansion),
                      tf.repeat(text.ends.flat_values, expansion), chars.row_splits)


def _utf8_lengths(chars: tf.Tensor) -> tf.Tensor:
    chars = tf.cast(chars, _INT)
    return 1 + tf.cast(chars >= 0x80, _INT) + tf.cast(chars >= 0x800, _INT) + tf.cast(chars >= 0x10000, _INT)


def _global_bytes(text: AlignedText):
    """Flat byte starts of the code points counted over the whole batch (row after row, so sorted) and each
    row's first byte: searchsorted on them finds code points of every row at once."""
    lengths = _utf8_lengths(text.chars.flat_values)
    starts = tf.cumsum(lengths, exclusive=True)
    row_bytes = tf.reduce_sum(text.chars.with_flat_values(lengths), axis=1)
    return starts, tf.cumsum(row_bytes, exclusive=True)


def _to_global(text_row_bases: tf.Tensor, offsets: tf.RaggedTensor) -> tf.Tensor:
    return tf.cast(offsets.flat_values, _INT) + tf.gather(text_row_bases, offsets.value_rowids())


def _find_source_offsets(offsets_map: tf.Tensor, offsets: tf.RaggedTensor) -> tf.RaggedTensor:
    """tf_text.find_source_offsets, which fails on a batch with an empty row (tf-text 2.16): each row gets one
    more offset, dropped from the result."""
    padded = tf.concat([offsets, tf.zeros(tf.stack([offsets.nrows(), 1]), offsets.dtype)], axis=1)
    return tf_text.find_source_offsets(offsets_map, padded)[:, :-1]


def normalize(text: AlignedText, form: str) -> AlignedText:
    """Unicode normalization (tf_text.normalize_utf8's forms); each resulting code point spans the source
    code points ICU's offset map gives it (an expansion's code points share their source's span)."""
    if form.upper() in ("NFD", "NFKD"):
        # ICU has no offsets map for these; a decomposition is each code point's own, then reordered (which
        # map_chars' whole-text values carry), so the spans are those of the code points decomposed alone.
        return map_chars(text, lambda strings: tf_text.normalize_utf8(strings, form))
    # One empty row more, dropped below: tf-text 2.16's find_source_offsets kills the process on a batch of 0
    # rows, which TF Serving passes on.
    normalized, offsets_map = tf_text.normalize_utf8_with_offsets_map(tf.concat([to_strings(text), [""]], 0), form)
    chars, byte_starts = tf.strings.unicode_decode_with_offsets(normalized, "UTF-8")
    byte_ends = byte_starts + chars.with_flat_values(_utf8_lengths(chars.flat_values))
    source_starts = _find_source_offsets(offsets_map, byte_starts)[:-1]
    source_ends = _find_source_offsets(offsets_map, byte_ends)[:-1]
    chars = chars[:-1]
    global_starts, row_bases = _global_bytes(text)
    # The source code point holding the start byte; ICU maps bytes inside an expansion to its source's end,
    # hence the clamp to the one before the end.
    first = tf.searchsorted(global_starts, _to_global(row_bases, source_starts), side="right", out_type=_INT) - 1
    stop = tf.searchsorted(global_starts, _to_global(row_bases, source_ends), side="left", out_type=_INT)
    first = tf.maximum(tf.minimum(first, stop - 1), 0)
    stop = tf.maximum(stop, first + 1)
    return text._with(chars.flat_values, tf.gather(text.starts.flat_values, first),
                      tf.gather(text.ends.flat_values, stop - 1), chars.row_splits)


def source_spans(text: AlignedText, byte_starts: tf.RaggedTensor, byte_ends: tf.RaggedTensor):
    """Pieces' [start, end) byte offsets into `to_strings(text)` -> their spans in the original text, int64
    [batch, (pieces)]: a piece starting with a space starts after it (the "▁" rule of the module docstring)."""
    global_starts, row_bases = _global_bytes(text)
    first = tf.searchsorted(global_starts, _to_global(row_bases, byte_starts), side="left", out_type=_INT)
    stop = tf.searchsorted(global_starts, _to_global(row_bases, byte_ends), side="left", out_type=_INT)
    # One sentinel element so that the gathers below stay in range for empty spans at the very end.
    chars = tf.concat([tf.cast(text.chars.flat_values, _INT), [0]], 0)
    starts = tf.concat([text.starts.flat_values, [0]], 0)
    ends = tf.concat([text.ends.flat_values, [0]], 0)
    first = tf.where((first < stop) & tf.equal(tf.gather(chars, first), _SPACE), first + 1, first)
    rows = byte_starts.value_rowids()
    row_stop = tf.gather(tf.cast(text.chars.row_splits[1:], _INT), rows)
    start = tf.where(first < row_stop, tf.gather(starts, first), tf.gather(text.source_lengths, rows))
    end = tf.where(stop > first, tf.gather(ends, tf.maximum(stop - 1, 0)), start)
    return byte_starts.with_flat_values(start), byte_starts.with_flat_values(end)
