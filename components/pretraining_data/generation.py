"""ALBERT pretraining instances (MLM + SOP) from one tokenized document: pure Python/numpy.

No Beam and no TensorFlow here, so the method can be tested and reasoned about on its own; the Beam
steps (`beam_pipeline.py`) only read documents, tokenize them and write what this module returns.

The method follows ALBERT's `create_pretraining_data.py` (Lan et al. 2019), with three deliberate
differences, each a fix:

* Single-sentence chunks (google-research/albert#234). ALBERT pairs a chunk of one sentence with a
  random segment of another document and labels it "swapped" - a next-sentence-prediction example
  dressed up as SOP. Here a chunk is only closed once it holds at least two sentences, and a final
  one-sentence leftover is re-balanced with the chunk before it (see `plan_chunks`). A document of a
  single sentence yields no instance at all and is counted (`single_sentence`). We do not split one
  sentence at a word boundary: SOP is about the order of sentences, and ALBERT deliberately splits
  only at sentence boundaries so the task is not trivially solvable from syntax.
* The final partial chunk of a document is always used (google-research/albert#256 is about chunks
  getting lost): every sentence of a multi-sentence document lands in exactly one instance, and the
  only pieces that do not appear are those cut by the longest-first truncation to `max_seq_length`,
  which each instance reports (`Instance.truncated`).
* All randomness comes from one `numpy.random.Generator` per (seed, document, duplicate), seeded
  from SHA-256 (`document_rng`) - never from Python's salted `hash()` or a process-global RNG - so
  re-runs and any number of workers give byte-identical output (for a fixed numpy version).

Masking is ALBERT's n-gram whole-word masking: candidate words are a piece that starts a word (the
WORD_BOUNDARY "▁" prefix; see `is_word_start`) and the continuation pieces after it; n-gram starts
are visited in random order, n in 1..max_ngram is drawn with p(n) ∝ 1/n (restricted to the words left
in the segment), shortened if it would exceed the budget of round(len(tokens) · masked_lm_prob)
predictions (capped at max_predictions_per_seq), and skipped if it overlaps an earlier span. Each
masked piece becomes [MASK] (80%), stays (10%) or becomes a random non-special id (10%).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import re
import struct
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from text_contract.features import (
    INPUT_IDS, INPUT_MASK, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, SEGMENT_IDS,
    SENTENCE_ORDER_KEPT, SENTENCE_ORDER_LABEL, SENTENCE_ORDER_SWAPPED
)
from text_contract.pieces import CLS_ID, FIRST_REGULAR_ID, MASK_ID, SEP_ID, WORD_BOUNDARY
from text_contract.sentencepiece_training import MIN_VOCAB_SIZE
from text_contract.transform_options import min_seq_length

# Replacement kinds recorded per masked position (diagnostics, not serialized).
REPLACED_BY_MASK, KEPT_ORIGINAL, REPLACED_BY_RANDOM = 0, 1, 2

# A sentence: its piece ids and, per piece, whether the piece starts a word.
Sentence = Tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """How instances are made; the defaults are ALBERT's (max_seq_length 512 there, 128 here)."""

    max_seq_length: int = 128
    short_seq_prob: float = 0.1
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    max_ngram: int = 3
    dupe_factor: int = 1
    seed: int = 0
    # Vocabulary size of the SentencePiece model: random replacements are drawn from
    # [FIRST_REGULAR_ID, vocab_size), never a special id.
    vocab_size: int = 30000

    def __post_init__(self):
        def need(ok, field, what):
            if not ok:
                raise ValueError(f"{field} must be {what}, got {getattr(self, field)!r}")

        shortest = min_seq_length(2)  # the Transform's rule for a sentence pair
        need(isinstance(self.max_seq_length, int) and self.max_seq_length >= shortest, "max_seq_length",
             f"an int >= {shortest} ([CLS] A [SEP] B [SEP] with one piece each)")
        need(0.0 <= self.short_seq_prob <= 1.0, "short_seq_prob", "in [0, 1]")
        need(0.0 <= self.masked_lm_prob <= 1.0, "masked_lm_prob", "in [0, 1]")
        need(isinstance(self.max_predictions_per_seq, int) and self.max_predictions_per_seq >= 1,
             "max_predictions_per_seq", "an int >= 1")
        need(isinstance(self.max_ngram, int) and self.max_ngram >= 1, "max_ngram", "an int >= 1")
        need(isinstance(self.dupe_factor, int) and self.dupe_factor >= 1, "dupe_factor", "an int >= 1")
        need(isinstance(self.seed, int), "seed", "an int")
        need(isinstance(self.vocab_size, int) and self.vocab_size >= MIN_VOCAB_SIZE, "vocab_size",
             f"an int >= {MIN_VOCAB_SIZE} (the special pieces and one more)")

    @property
    def max_num_tokens(self) -> int:
        """Pieces of A and B together: max_seq_length less [CLS] and two [SEP]s."""
        return self.max_seq_length - 3


@dataclasses.dataclass
class Instance:
    """One pretraining example before padding, plus what the statistics need."""

    input_ids: np.ndarray  # [CLS] A [SEP] B [SEP] after masking replacement
    segment_ids: np.ndarray  # 0 for [CLS] A [SEP], 1 for B [SEP]
    masked_lm_positions: np.ndarray  # sorted
    masked_lm_ids: np.ndarray  # the original ids at those positions
    sentence_order_label: int  # text_contract.features.SENTENCE_ORDER_KEPT or SENTENCE_ORDER_SWAPPED
    # Diagnostics (not serialized).
    replacements: np.ndarray  # REPLACED_BY_MASK / KEPT_ORIGINAL / REPLACED_BY_RANDOM per position
    ngram_lengths: List[int]  # words per accepted masked span
    ngram_draws: List[Tuple[int, int]]  # (n drawn, largest n that was possible there)
    truncated: int  # pieces cut by truncate_pair

    @property
    def num_tokens(self) -> int:
        return int(self.input_ids.shape[0])

    def original_ids(self) -> np.ndarray:
        """input_ids with the masked positions restored."""
        ids = self.input_ids.copy()
        ids[self.masked_lm_positions] = self.masked_lm_ids
        return ids


# ------------------------------------------------------------------------------------------------
# Text helpers

# A sentence ends at a run of . ! ? (and any closing quotes/brackets) followed by whitespace or the
# end of the line, or at CJK full-width 。！？ (those scripts put no space after them).
_SENTENCE_END = re.compile(
    r"[.!?]+[\"'\u2019\u201d)\]]*(?=\s|$)"  # . ! ? (+ closing quotes/brackets) before a space or the end
    r"|[\u3002\uff01\uff1f]+[\u201d\u2019\u300d\u300f\uff09]*")  # 。！？ (+ closing quotes/brackets)


def split_sentences(text: str) -> List[str]:
    """Deterministic, simple sentence splitter for rows that hold a whole document.

    Line breaks always end a sentence; within a line a sentence ends after [.!?] (with closing quotes
    or brackets) followed by whitespace or the end of the line, or after 。！？. Abbreviations such as
    "Dr." therefore also end a sentence - acceptable for SOP, which only needs an order of segments.
    Empty and whitespace-only pieces are dropped.
    """
    sentences = []
    for line in text.splitlines():
        start = 0
        for match in _SENTENCE_END.finditer(line):
            piece = line[start:match.end()].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
        tail = line[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def _is_unsegmented_script(char: str) -> bool:
    """CJK ideographs, kana and full-width forms: scripts written without spaces between words."""
    code = ord(char)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x2FFFF
    )


def is_word_start(piece: str) -> bool:
    """Whether a SentencePiece piece starts a word for whole-word masking.

    A piece starts a word when it carries the WORD_BOUNDARY prefix; other pieces continue the word
    before them. Pieces of scripts without spaces (CJK) would otherwise make a whole sentence one
    "word", so each such piece is a word of its own (ALBERT makes the same exception).
    """
    if piece.startswith(WORD_BOUNDARY):
        return True
    return bool(piece) and _is_unsegmented_script(piece[0])


def document_key(sentences: Sequence[str]) -> str:
    """Stable identity of a document: SHA-256 of its sentences joined by newlines (hex)."""
    return hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()


def document_rng(seed: int, doc_key: str, dupe_index: int) -> np.random.Generator:
    """The one Generator for a document's `dupe_index`-th pass, from SHA-256 of seed, index and key."""
    digest = hashlib.sha256(f"albert-pretraining\x00{seed}\x00{dupe_index}\x00{doc_key}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


# ------------------------------------------------------------------------------------------------
# Chunks, pairs, truncation


def plan_chunks(lengths: Sequence[int], target: int) -> List[List[int]]:
    """Group sentence indexes into chunks of >= 2 sentences, each closed once it reaches `target`.

    As in ALBERT, sentences accumulate until the chunk's length reaches the target; unlike ALBERT a
    chunk also needs two sentences before it closes (so A and B both exist, #234), and the remainder
    at the end of the document is always used (#256): two or more sentences form the last chunk; a
    single leftover sentence takes the previous chunk's last sentence with it when that chunk has
    three or more, otherwise it joins that chunk. A one-sentence document gives no chunk.
    """
    chunks: List[List[int]] = []
    current: List[int] = []
    current_length = 0
    for index, length in enumerate(lengths):
        current.append(index)
        current_length += length
        if current_length >= target and len(current) >= 2:
            chunks.append(current)
            current, current_length = [], 0
    if len(current) >= 2:
        chunks.append(current)
    elif current and chunks:
        previous = chunks[-1]
        if len(previous) >= 3:
            chunks.append([previous.pop(), current[0]])
        else:
            previous.append(current[0])
    return chunks


def truncated_lengths(length_a: int, length_b: int, max_num_tokens: int) -> Tuple[int, int]:
    """Lengths after ALBERT's longest-first truncation (remove from the longer; B on ties)."""
    excess = length_a + length_b - max_num_tokens
    if excess <= 0:
        return length_a, length_b
    if length_a > length_b:
        cut = min(excess, length_a - length_b)
        length_a, excess = length_a - cut, excess - cut
    elif length_b > length_a:
        cut = min(excess, length_b - length_a)
        length_b, excess = length_b - cut, excess - cut
    # Equal now: the rest alternates, B first.
    return length_a - excess // 2, length_b - (excess - excess // 2)


def truncate_pair(a: Sentence, b: Sentence, max_num_tokens: int, rng: np.random.Generator):
    """Truncate A and B longest-first to `max_num_tokens`, each removed piece from the front or the
    back with probability 1/2 (ALBERT's per-piece coin, drawn as one binomial per segment)."""
    new_a, new_b = truncated_lengths(len(a[0]), len(b[0]), max_num_tokens)
    out = []
    for (ids, starts), new_length in ((a, new_a), (b, new_b)):
        removed = len(ids) - new_length
        front = int(rng.binomial(removed, 0.5)) if removed else 0
        out.append((ids[front:front + new_length], starts[front:front + new_length]))
    return out[0], out[1]


# ------------------------------------------------------------------------------------------------
# Masking


@functools.lru_cache(maxsize=None)
def _ngram_cdfs(max_ngram: int) -> Tuple[Tuple[float, ...], ...]:
    """cdfs[k]: cumulative p(n) ∝ 1/n over n = 1..k (index 0 unused)."""
    weights = 1.0 / np.arange(1, max_ngram + 1)
    return ((),) + tuple(tuple((np.cumsum(weights[:k]) / weights[:k].sum()).tolist())
                         for k in range(1, max_ngram + 1))


def mask_instance(ids: np.ndarray, word_starts: np.ndarray, segment_bounds: Sequence[Tuple[int, int]],
                  config: GenerationConfig, rng: np.random.Generator):
    """N-gram whole-word masking of `ids` ([CLS] A [SEP] B [SEP]); returns
    (masked ids, sorted positions, original ids, replacement kinds, accepted n-grams, draws).

    `segment_bounds` are the [start, end) position ranges of A and B: only their pieces are
    candidates, a word never crosses them, and their first piece always starts a word (front
    truncation may have left a continuation piece there).
    """
    num_tokens = len(ids)
    budget = min(config.max_predictions_per_seq,
                 max(1, int(np.floor(num_tokens * config.masked_lm_prob + 0.5))))
    if config.masked_lm_prob == 0:
        budget = 0

    word_begin, word_end, word_last_in_segment = [], [], []
    for start, end in segment_bounds:
        starts = np.flatnonzero(word_starts[start:end]) + start
        if len(starts) == 0 or starts[0] != start:
            starts = np.concatenate([[start], starts])
        ends = np.append(starts[1:], end)
        last = len(word_begin) + len(starts)  # one past this segment's last word index
        word_begin.extend(starts.tolist())
        word_end.extend(ends.tolist())
        word_last_in_segment.extend([last] * len(starts))

    cdfs = _ngram_cdfs(config.max_ngram)
    covered = [False] * num_tokens
    chosen: List[int] = []
    ngram_lengths: List[int] = []
    draws: List[Tuple[int, int]] = []
    for word in rng.permutation(len(word_begin)).tolist() if budget else []:
        if len(chosen) >= budget:
            break
        possible = min(config.max_ngram, word_last_in_segment[word] - word)
        n = min(bisect.bisect_right(cdfs[possible], rng.random()) + 1, possible)
        draws.append((n, possible))
        begin = word_begin[word]
        while n > 1 and len(chosen) + word_end[word + n - 1] - begin > budget:
            n -= 1
        end = word_end[word + n - 1]
        if len(chosen) + end - begin > budget or any(covered[begin:end]):
            continue
        covered[begin:end] = [True] * (end - begin)
        chosen.extend(range(begin, end))
        ngram_lengths.append(n)

    positions = np.array(sorted(chosen), dtype=np.int64)
    originals = ids[positions]
    k = len(positions)
    choice = rng.random(k)
    random_ids = rng.integers(FIRST_REGULAR_ID, config.vocab_size, k)
    kinds = np.where(choice < 0.8, REPLACED_BY_MASK, np.where(choice < 0.9, KEPT_ORIGINAL, REPLACED_BY_RANDOM))
    masked = ids.copy()
    masked[positions] = np.where(kinds == REPLACED_BY_MASK, MASK_ID,
                                 np.where(kinds == KEPT_ORIGINAL, originals, random_ids))
    return masked, positions, originals, kinds, ngram_lengths, draws


# ------------------------------------------------------------------------------------------------
# Instances


def create_instances(sentences: Sequence[Sentence], config: GenerationConfig,
                     rng: np.random.Generator) -> List[Instance]:
    """All instances of one pass over one document (empty for a one-sentence document)."""
    sentences = [s for s in sentences if len(s[0])]
    max_num_tokens = config.max_num_tokens
    target = max_num_tokens
    if rng.random() < config.short_seq_prob:
        target = int(rng.integers(2, max_num_tokens + 1))

    instances = []
    for chunk in plan_chunks([len(s[0]) for s in sentences], target):
        a_end = int(rng.integers(1, len(chunk)))  # A gets 1..len-1 sentences
        a = _concat([sentences[i] for i in chunk[:a_end]])
        b = _concat([sentences[i] for i in chunk[a_end:]])
        swapped = rng.random() < 0.5
        if swapped:
            a, b = b, a
        total = len(a[0]) + len(b[0])
        a, b = truncate_pair(a, b, max_num_tokens, rng)
        len_a, len_b = len(a[0]), len(b[0])
        special = np.array([CLS_ID]), np.array([SEP_ID])
        ids = np.concatenate([special[0], a[0], special[1], b[0], special[1]]).astype(np.int64)
        starts = np.concatenate([[False], a[1], [False], b[1], [False]]).astype(bool)
        segment_ids = np.concatenate([np.zeros(len_a + 2, np.int64), np.ones(len_b + 1, np.int64)])
        bounds = ((1, 1 + len_a), (2 + len_a, 2 + len_a + len_b))
        masked, positions, originals, kinds, ngrams, draws = mask_instance(ids, starts, bounds, config, rng)
        instances.append(Instance(
            input_ids=masked, segment_ids=segment_ids, masked_lm_positions=positions,
            masked_lm_ids=originals,
            sentence_order_label=SENTENCE_ORDER_SWAPPED if swapped else SENTENCE_ORDER_KEPT,
            replacements=kinds, ngram_lengths=ngrams, ngram_draws=draws,
            truncated=total - len_a - len_b))
    return instances


def _concat(parts: Sequence[Sentence]) -> Sentence:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def generate(sentences: Sequence[Sentence], config: GenerationConfig, doc_key: str) -> List[List[Instance]]:
    """Instances of a document for each of the `dupe_factor` passes, each pass with its own RNG."""
    return [create_instances(sentences, config, document_rng(config.seed, doc_key, dupe))
            for dupe in range(config.dupe_factor)]


def make_sentence(ids: Sequence[int], pieces: Optional[Sequence[str]] = None,
                  word_starts: Optional[Sequence[bool]] = None) -> Sentence:
    """A Sentence from piece ids and either their piece strings or per-piece word-start flags."""
    if (pieces is None) == (word_starts is None):
        raise ValueError("give exactly one of pieces and word_starts")
    if pieces is not None:
        word_starts = [is_word_start(p) for p in pieces]
    ids_array = np.asarray(ids, dtype=np.int64)
    starts_array = np.asarray(word_starts, dtype=bool)
    if ids_array.shape != starts_array.shape:
        raise ValueError(f"{len(ids_array)} ids but {len(starts_array)} word-start flags")
    return ids_array, starts_array


# ------------------------------------------------------------------------------------------------
# Padded features and tf.Example bytes


def to_features(instance: Instance, config: GenerationConfig) -> Dict[str, np.ndarray]:
    """The padded feature arrays, keyed by their `text_contract.features` names."""
    length, predictions = config.max_seq_length, config.max_predictions_per_seq
    n, k = instance.num_tokens, len(instance.masked_lm_positions)
    if n > length or k > predictions:
        raise ValueError(f"instance of {n} tokens / {k} predictions exceeds {length} / {predictions}")

    def pad(values, size, dtype):
        out = np.zeros(size, dtype=dtype)
        out[:len(values)] = values
        return out

    return {
        INPUT_IDS: pad(instance.input_ids, length, np.int64),
        SEGMENT_IDS: pad(instance.segment_ids, length, np.int64),
        INPUT_MASK: pad(np.ones(n), length, np.int64),
        MASKED_LM_POSITIONS: pad(instance.masked_lm_positions, predictions, np.int64),
        MASKED_LM_IDS: pad(instance.masked_lm_ids, predictions, np.int64),
        MASKED_LM_WEIGHTS: pad(np.ones(k), predictions, np.float32),
        SENTENCE_ORDER_LABEL: np.array([instance.sentence_order_label], dtype=np.int64),
    }


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_SMALL_VARINTS = [_varint(i) for i in range(1 << 15)]


def _packed_varints(values: np.ndarray) -> bytes:
    small = _SMALL_VARINTS
    return b"".join(small[v] if 0 <= v < 32768 else _varint(v & 0xFFFFFFFFFFFFFFFF) for v in values.tolist())


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def serialize_features(features: Dict[str, np.ndarray]) -> bytes:
    """tf.train.Example bytes, written directly in protobuf wire format.

    Byte-identical to `tf.train.Example(...).SerializeToString(deterministic=True)` (map entries in
    key order, packed repeated values); floating-point arrays become float_list, the rest int64_list.
    Doing it by hand keeps TensorFlow out of the Beam workers and is several times faster.
    """
    entries = []
    for key in sorted(features):
        values = np.asarray(features[key])
        if np.issubdtype(values.dtype, np.floating):
            payload = struct.pack(f"<{len(values)}f", *values.tolist())
            feature = _field(2, _field(1, payload) if len(values) else b"")
        else:
            feature = _field(3, _field(1, _packed_varints(values)) if len(values) else b"")
        entries.append(_field(1, _field(1, key.encode("utf-8")) + _field(2, feature)))
    return _field(1, b"".join(entries))


def serialize_instance(instance: Instance, config: GenerationConfig) -> bytes:
    return serialize_features(to_features(instance, config))
