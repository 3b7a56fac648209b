"""The Beam part of PretrainingDataGen: read documents, make instances, write shards byte-identically.

Kept free of TFX and TensorFlow imports (tf.Example bytes are written by `generation`, records are
parsed by hand) so Beam workers start light: a worker only needs numpy, sentencepiece, text_contract and
this package.

Determinism does not depend on how Beam splits, orders or retries work:
* a document's randomness comes from SHA-256 of (seed, dupe index, document text) (`generation`);
* each instance is keyed by SHA-256 of (document key, dupe index, instance index); the key picks its
  shard and its place in the shard (shards are sorted by key, then bytes), so the output is a
  pseudo-random shuffle that is the same for any worker count;
* every shard file is written by one DoFn call, to a temporary name then renamed, gzip with mtime 0;
* the summary is a sum of integer counters, written the same way.
"""

from __future__ import annotations

import codecs
import collections
import gzip
import hashlib
import json
import os
import struct
import uuid
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.pretraining_data import generation
from text_contract import pieces, vocabulary
from text_contract.features import PRETRAINING_SUMMARY_FILE, SENTENCE_ORDER_SWAPPED

METRICS_NAMESPACE = "PretrainingDataGen"
OUTPUT_FILE_PREFIX = "pretraining"
SUMMARY_FILE_NAME = PRETRAINING_SUMMARY_FILE

# Why a document was skipped (counted in Beam metrics and summary.json["skipped"]).
EMPTY = "empty"  # empty or whitespace-only text, or text that tokenizes to no pieces
INVALID_UTF8 = "invalid_utf8"
MISSING_FEATURE = "missing_feature"  # the row has no text feature, or the feature has no value
NOT_TEXT = "not_text"  # the feature holds int64/float values
UNPARSEABLE_RECORD = "unparseable_record"  # a record that is not a tf.Example
SINGLE_SENTENCE = "single_sentence"  # one sentence: no sentence-order pair exists (albert#234)
SKIP_REASONS = (EMPTY, INVALID_UTF8, MISSING_FEATURE, NOT_TEXT, UNPARSEABLE_RECORD, SINGLE_SENTENCE)
# Kept but altered (counted in summary.json at top level).
TRUNCATED = "truncated"  # longer than max_document_chars: cut there
MULTI_VALUE = "multi_value"  # a text feature with several values: joined by newlines

_STATS = "stats"
_EMPTY_SHARD_MARKER = (b"", b"")


def _count(name: str, value: int = 1):
    beam.metrics.Metrics.counter(METRICS_NAMESPACE, name).inc(value)


def _skip(reason: str) -> beam.pvalue.TaggedOutput:
    _count(reason)
    return beam.pvalue.TaggedOutput(_STATS, {"documents_read": 1, "skipped_" + reason: 1})


# ------------------------------------------------------------------------------------------------
# Reading


def _decode(raw: bytes, cut: bool) -> Optional[str]:
    """UTF-8 text of `raw`, or None when invalid. When `cut`, an incomplete last character is dropped."""
    try:
        if cut:
            return codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _document(sentences: List[str]) -> Tuple[str, Tuple[str, ...]]:
    return generation.document_key(sentences), tuple(sentences)


class ReadTextFileDocuments(beam.DoFn):
    """One text file -> documents: blank (or whitespace-only) lines separate documents, each other
    line is a sentence. A document over `max_document_chars` is cut there (whole lines stop being
    read once its bytes exceed 4x that, so a huge document is never held whole)."""

    def __init__(self, max_document_chars: int):
        self._max_chars = max_document_chars

    def process(self, path: str):
        max_bytes = 4 * self._max_chars + 4
        with FileSystems.open(path) as handle:  # .gz and other compressions by extension
            lines: List[bytes] = []
            size, cut = 0, False
            for line in iter(handle.readline, b""):
                if not line.strip():
                    if lines:
                        yield from self._finish(lines, cut)
                    lines, size, cut = [], 0, False
                    continue
                if cut:
                    continue
                if size + len(line) > max_bytes:
                    line, cut = line[:max_bytes - size], True
                lines.append(line)
                size += len(line)
            if lines:
                yield from self._finish(lines, cut)

    def _finish(self, lines: List[bytes], cut: bool):
        text = _decode(b"".join(lines), cut)
        if text is None:
            yield _skip(INVALID_UTF8)
            return
        stats = {"documents_read": 1}
        if cut or len(text) > self._max_chars:
            text = text[:self._max_chars]
            _count(TRUNCATED)
            stats[TRUNCATED] = 1
        # One sentence per line is the original format; a line holding a whole paragraph (WikiText, most
        # dumps) is split into its sentences too, or every such paragraph would be one "sentence" and
        # yield no sentence-order pair.
        sentences = generation.split_sentences("\n".join(line.lstrip("\ufeff") for line in text.splitlines()))
        if not sentences:
            yield _skip(EMPTY)
            return
        yield beam.pvalue.TaggedOutput(_STATS, stats)
        yield _document(sentences)


def _read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterable[Tuple[int, int, object]]:
    """(field number, wire type, value) of a protobuf message; LEN values as bytes."""
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf) or number == 0:
            raise ValueError("malformed message")
        yield number, wire, value


FEATURE_KINDS = {1: "bytes_list", 2: "float_list", 3: "int64_list"}


def parse_example_features(serialized: bytes) -> Dict[str, Tuple[Optional[str], List[bytes]]]:
    """feature name -> (kind, values) of a serialized tf.train.Example, parsed from wire format.

    Values are only decoded for bytes_list (the others give an empty list); a Feature with no kind
    set has kind None. Raises ValueError for bytes that are not an Example.
    """
    features: Dict[str, Tuple[Optional[str], List[bytes]]] = {}
    for number, wire, value in _fields(serialized):
        if number != 1 or wire != 2:
            continue
        for entry_number, entry_wire, entry in _fields(value):
            if entry_number != 1 or entry_wire != 2:
                continue
            key, feature = None, b""
            for part_number, part_wire, part in _fields(entry):
                if part_number == 1 and part_wire == 2:
                    key = part.decode("utf-8")
                elif part_number == 2 and part_wire == 2:
                    feature = part
            if key is None:
                raise ValueError("feature map entry without a key")
            kind, values = None, []
            for kind_number, kind_wire, payload in _fields(feature):
                if kind_wire != 2 or kind_number not in FEATURE_KINDS:
                    continue
                kind, values = FEATURE_KINDS[kind_number], []
                if kind == "bytes_list":
                    values = [v for n, w, v in _fields(payload) if n == 1 and w == 2]
            features[key] = (kind, values)
    return features


class ExamplesToDocuments(beam.DoFn):
    """One serialized tf.Example (an ExampleGen row) -> one document: the text feature's value split
    into sentences by `generation.split_sentences`."""

    def __init__(self, text_feature: str, max_document_chars: int):
        self._feature = text_feature
        self._max_chars = max_document_chars

    def process(self, record: bytes):
        try:
            features = parse_example_features(record)
        except (ValueError, UnicodeDecodeError):
            yield _skip(UNPARSEABLE_RECORD)
            return
        kind, values = features.get(self._feature, (None, []))
        if self._feature in features and kind not in (None, "bytes_list"):
            yield _skip(NOT_TEXT)
            return
        if not values:
            yield _skip(MISSING_FEATURE)
            return
        stats = {"documents_read": 1}
        if len(values) > 1:
            _count(MULTI_VALUE)
            stats[MULTI_VALUE] = 1
        raw = b"\n".join(values)
        cut = len(raw) > 4 * self._max_chars + 4
        text = _decode(raw[:4 * self._max_chars + 4] if cut else raw, cut)
        if text is None:
            yield _skip(INVALID_UTF8)
            return
        if cut or len(text) > self._max_chars:
            text = text[:self._max_chars]
            _count(TRUNCATED)
            stats[TRUNCATED] = 1
        sentences = generation.split_sentences(text.lstrip("\ufeff"))
        if not sentences:
            yield _skip(EMPTY)
            return
        yield beam.pvalue.TaggedOutput(_STATS, stats)
        yield _document(sentences)


# ------------------------------------------------------------------------------------------------
# Instances


def word_start_table(processor) -> np.ndarray:
    """Per vocabulary id: does the piece start a word? (unknown and control pieces always do)."""
    return np.array([
        generation.is_word_start(processor.id_to_piece(i)) or processor.is_unknown(i) or processor.is_control(i)
        for i in range(processor.get_piece_size())
    ], dtype=bool)


def load_sentencepiece(model_path: str):
    """A SentencePieceProcessor for the model file (any Beam filesystem path).

    Raises `text_contract.pieces.VocabularyError` naming the path when the file is not a SentencePiece model.
    """
    with FileSystems.open(model_path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        proto = handle.read()
    return pieces.load_processor(proto, model_path)


def instance_key(doc_key: str, dupe: int, index: int) -> bytes:
    return hashlib.sha256(f"{doc_key}\x00{dupe}\x00{index}".encode()).digest()


class MakeInstances(beam.DoFn):
    """A document -> (shard, (instance key, tf.Example bytes)) for each of its instances."""

    def __init__(self, model_path: str, config_kwargs: Dict, num_shards: int, albert_lower_case: Optional[bool] = None):
        self._model_path = model_path
        self._config_kwargs = dict(config_kwargs)
        self._num_shards = num_shards
        # An imported ALBERT SentencePiece model: its text is preprocessed the original ALBERT way, as the
        # Transform does (`text_contract.vocabulary.albert_encode`), with this case folding. None: ours.
        self._albert_lower_case = albert_lower_case

    def setup(self):
        self._processor = load_sentencepiece(self._model_path)
        self._word_starts = word_start_table(self._processor)
        self._config = generation.GenerationConfig(
            vocab_size=self._processor.get_piece_size(), **self._config_kwargs)

    def process(self, document: Tuple[str, Tuple[str, ...]]):
        doc_key, texts = document
        if self._albert_lower_case is None:
            encoded = self._processor.encode(list(texts))
        else:
            encoded = [vocabulary.albert_encode(self._processor, text, self._albert_lower_case) for text in texts]
        sentences = [(np.asarray(ids, dtype=np.int64), self._word_starts[ids]) for ids in encoded if ids]
        if len(sentences) < 2:
            reason = SINGLE_SENTENCE if sentences else EMPTY
            _count(reason)
            yield beam.pvalue.TaggedOutput(_STATS, {"skipped_" + reason: 1})
            return
        stats = collections.Counter(documents_used=1, sentences=len(sentences))
        for dupe, instances in enumerate(generation.generate(sentences, self._config, doc_key)):
            for index, instance in enumerate(instances):
                key = instance_key(doc_key, dupe, index)
                shard = int.from_bytes(key[:8], "big") % self._num_shards
                yield shard, (key, generation.serialize_instance(instance, self._config))
                stats["instances"] += 1
                stats["tokens"] += instance.num_tokens
                stats["predictions"] += len(instance.masked_lm_positions)
                stats["pieces_truncated"] += instance.truncated
                stats["swapped"] += int(instance.sentence_order_label == SENTENCE_ORDER_SWAPPED)
                for kind, count in zip(("mask", "kept", "random"),
                                       np.bincount(instance.replacements, minlength=3).tolist()):
                    stats["replaced_" + kind] += count
                for n in instance.ngram_lengths:
                    stats[f"ngram_{n}"] += 1
        _count("documents_used")
        _count("instances_written", stats["instances"])
        yield beam.pvalue.TaggedOutput(_STATS, dict(stats))


# ------------------------------------------------------------------------------------------------
# Writing


def _masked_crc32c(data: bytes) -> int:
    try:
        import google_crc32c

        crc = google_crc32c.value(data)
    except ImportError:  # pragma: no cover - pinned, but crcmod is there too
        import crcmod.predefined

        crc = crcmod.predefined.mkPredefinedCrcFun("crc-32c")(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC32C of the length, data, masked CRC32C of the data."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked_crc32c(length)) + data + struct.pack("<I", _masked_crc32c(data))


def shard_path(directory: str, shard: int, num_shards: int) -> str:
    return os.path.join(directory, f"{OUTPUT_FILE_PREFIX}-{shard:05d}-of-{num_shards:05d}.gz")


def write_atomically(path: str, write) -> None:
    """Write through `write(binary handle)` to a temporary name next to `path`, then rename."""
    temporary = f"{path}.incomplete-{uuid.uuid4().hex}"
    with FileSystems.create(temporary, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        write(handle)
    FileSystems.rename([temporary], [path])


class WriteShard(beam.DoFn):
    """(shard, [(key, bytes)...]) -> the shard's gzipped TFRecord file, records sorted by key."""

    def __init__(self, directory: str, num_shards: int):
        self._directory = directory
        self._num_shards = num_shards

    def process(self, element):
        shard, items = element
        records = sorted(item for item in items if item != _EMPTY_SHARD_MARKER)

        def write(handle):
            with gzip.GzipFile(fileobj=handle, mode="wb", filename="", mtime=0, compresslevel=6) as zipped:
                for _, record in records:
                    zipped.write(tfrecord(record))

        write_atomically(shard_path(self._directory, shard, self._num_shards), write)
        yield shard, len(records)


class _SumCounts(beam.CombineFn):
    def create_accumulator(self):
        return collections.Counter()

    def add_input(self, accumulator, element):
        accumulator.update(element)
        return accumulator

    def merge_accumulators(self, accumulators):
        total = collections.Counter()
        for accumulator in accumulators:
            total.update(accumulator)
        return total

    def extract_output(self, accumulator):
        return dict(accumulator)


def summarize(counts: Dict[str, int], shard_sizes: Sequence[Tuple[int, int]], num_shards: int,
              details: Dict) -> Dict:
    """summary.json's content from the summed counters (ratios from integer totals)."""
    def get(name):
        return int(counts.get(name, 0))

    def ratio(a, b):
        return round(a / b, 6) if b else 0.0

    predictions = get("predictions")
    instances = get("instances")
    sizes = dict(shard_sizes)
    return {
        "documents_read": get("documents_read"),
        "documents_used": get("documents_used"),
        "skipped": {reason: get("skipped_" + reason) for reason in SKIP_REASONS},
        TRUNCATED: get(TRUNCATED),
        MULTI_VALUE: get(MULTI_VALUE),
        "sentences": get("sentences"),
        "instances_written": instances,
        "tokens": get("tokens"),
        "pieces_truncated": get("pieces_truncated"),
        "masked_lm_predictions": predictions,
        "masked_fraction": ratio(predictions, get("tokens")),
        "replacement_fractions": {kind: ratio(get("replaced_" + kind), predictions)
                                  for kind in ("mask", "kept", "random")},
        "ngram_histogram": {name.split("_")[1]: get(name) for name in sorted(counts)
                            if name.startswith("ngram_")},
        "sop_swapped_fraction": ratio(get("swapped"), instances),
        "num_shards": num_shards,
        "instances_per_shard": [sizes.get(shard, 0) for shard in range(num_shards)],
        **details,
    }


def _write_summary(counts, shard_sizes, path, num_shards, details):
    summary = summarize(counts, shard_sizes, num_shards, details)
    payload = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8")
    write_atomically(path, lambda handle: handle.write(payload))
    return summary


# ------------------------------------------------------------------------------------------------
# The whole pipeline


def build(pipeline: beam.Pipeline, *, model_path: str, output_dir: str, summary_path: str,
          config_kwargs: Dict, num_shards: int, max_document_chars: int,
          text_files: Sequence[str] = (), example_patterns: Sequence[str] = (),
          text_feature: Optional[str] = None, details: Optional[Dict] = None,
          albert_lower_case: Optional[bool] = None) -> None:
    """Adds the PretrainingDataGen steps to `pipeline` (text files or tf.Example TFRecord patterns).
    `albert_lower_case`: see MakeInstances."""
    if bool(text_files) == bool(example_patterns):
        raise ValueError("give exactly one of text_files and example_patterns")
    if text_files:
        read = (pipeline
                | "TextFiles" >> beam.Create(sorted(text_files))
                | "SpreadFiles" >> beam.Reshuffle()
                | "ReadDocuments" >> beam.ParDo(ReadTextFileDocuments(max_document_chars))
                .with_outputs(_STATS, main="documents"))
    else:
        records = [pipeline | f"ReadRecords{i}" >> beam.io.ReadFromTFRecord(pattern)
                   for i, pattern in enumerate(example_patterns)]
        read = (records
                | "AllRecords" >> beam.Flatten()
                | "RowsToDocuments" >> beam.ParDo(ExamplesToDocuments(text_feature, max_document_chars))
                .with_outputs(_STATS, main="documents"))

    made = (read.documents
            | "SpreadDocuments" >> beam.Reshuffle()
            | "MakeInstances" >> beam.ParDo(MakeInstances(model_path, config_kwargs, num_shards, albert_lower_case))
            .with_outputs(_STATS, main="instances"))
    every_shard = pipeline | "EveryShard" >> beam.Create([(s, _EMPTY_SHARD_MARKER) for s in range(num_shards)])
    shard_sizes = ((made.instances, every_shard)
                   | "WithEmptyShards" >> beam.Flatten()
                   | "GroupByShard" >> beam.GroupByKey()
                   | "WriteShards" >> beam.ParDo(WriteShard(output_dir, num_shards))
                   | "ShardSizes" >> beam.combiners.ToList())
    counts = ((read[_STATS], made[_STATS])
              | "AllStats" >> beam.Flatten()
              | "SumStats" >> beam.CombineGlobally(_SumCounts()))
    _ = counts | "WriteSummary" >> beam.Map(
        _write_summary, beam.pvalue.AsSingleton(shard_sizes), summary_path, num_shards, details or {})
