"""The Beam part of SentencePieceVocab: Examples -> the normalized, distinct lines to train on and to hold out.

`build` adds the steps to a pipeline; they read the chosen splits (gzipped TFRecords of tf.Example) and
1. pull the text features (bytes values of one feature are joined with a space, as the Transform does),
   decode UTF-8 strictly, split into lines and cut lines longer than `max_sentence_chars`;
2. normalize each line with `text_contract.normalization.normalize` (NFKC, optional lower case, whitespace);
3. drop empty lines and duplicates (each distinct line is kept once);
4. hold out the lines whose seeded hash falls below `heldout_fraction` (at most `max_heldout_sentences`
   of them, the smallest hashes), to measure the unknown-piece rate;
5. sample the training lines by a second seeded hash, so that about `max_sentences` (a little more) remain;
and write what they found into a work directory, which `read_prepared` reads back once the job has run.
No step depends on worker order, bundle sizes or randomness: the same data and parameters give the same
lines.

Bad input is counted (Beam counters in the namespace `SentencePieceVocab`, and the stats the summary
reports) and skipped, never fatal: `missing_feature` (no value for a text feature), `invalid_utf8`,
`invalid_example` (a record that is not a tf.Example), `empty` (empty or whitespace-only line),
`duplicate`; `truncated` counts lines that were cut and kept. The (feature, kind) pairs seen are recorded,
so that a text feature no example has can be reported by name.

No TFX here: Beam workers import this module (and the package's lazy `__init__`), not the component.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import apache_beam as beam
import tensorflow as tf
from apache_beam.transforms.window import GlobalWindows
from google.protobuf.message import DecodeError
from tensorflow.core.example import example_pb2

from text_contract.normalization import normalize

METRICS_NAMESPACE = "SentencePieceVocab"

# Why a value or line did not reach the vocabulary (summary.json "dropped", Beam counter names).
MISSING_FEATURE = "missing_feature"
INVALID_UTF8 = "invalid_utf8"
INVALID_EXAMPLE = "invalid_example"
EMPTY = "empty"
DUPLICATE = "duplicate"
DROP_REASONS = (MISSING_FEATURE, INVALID_UTF8, INVALID_EXAMPLE, EMPTY, DUPLICATE)
TRUNCATED = "truncated"  # cut to max_sentence_chars and kept

# Counts the Beam job collects (besides the drop reasons and TRUNCATED).
EXAMPLES_READ = "examples_read"
TEXT_VALUES_READ = "text_values_read"
LINES_READ = "lines_read"
LINES_UNIQUE = "lines_unique"
TRAINING_CANDIDATES = "training_candidates"

# What the job leaves in its work directory.
STATS_FILE = "stats.json"  # {count name: total}
FEATURES_FILE = "features.json"  # sorted [feature name, value kind] pairs
HELDOUT_FILE = "heldout.json"  # the held-out lines
TRAINING_PREFIX = "training"  # text shards of "<hash hex>\t<line>" rows

_STATS = "stats"
_FEATURES = "features"
# Oversampling before the exact cap: the Beam sample keeps about 10% (+1000) more than max_sentences.
_OVERSAMPLE = 1.1
_OVERSAMPLE_EXTRA = 1000
_HASH_SPACE = 2**63  # hashes fit Beam's signed 64-bit integer coder


def line_hash(seed: int, purpose: str, line: str) -> int:
    """A 63-bit hash of a line, salted with the seed and the purpose (stable across processes and runs)."""
    digest = hashlib.blake2b(f"{seed}\x00{purpose}\x00{line}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class ExtractLines(beam.DoFn):
    """Serialized tf.Example -> normalized, non-empty lines of its text features; counts what it skips."""

    def __init__(self, text_features: List[str], lower_case: bool, max_chars: int):
        super().__init__()
        self._text_features = text_features
        self._lower_case = lower_case
        self._max_chars = max_chars
        self._counters = {}

    def setup(self):
        names = DROP_REASONS + (TRUNCATED, EXAMPLES_READ, TEXT_VALUES_READ, LINES_READ)
        self._counters = {name: beam.metrics.Metrics.counter(METRICS_NAMESPACE, name) for name in names}
        self._seen_features = set()

    def start_bundle(self):
        self._counts = {}

    def _count(self, name: str, n: int = 1):
        self._counters[name].inc(n)
        self._counts[name] = self._counts.get(name, 0) + n

    def process(self, record: bytes) -> Iterable[Any]:
        try:
            example = example_pb2.Example.FromString(record)
        except DecodeError:
            self._count(INVALID_EXAMPLE)
            return
        self._count(EXAMPLES_READ)
        features = example.features.feature
        for name in features:
            kind = (name, features[name].WhichOneof("kind") or "empty")
            if kind not in self._seen_features:  # each (name, kind) once per DoFn instance
                self._seen_features.add(kind)
                yield beam.pvalue.TaggedOutput(_FEATURES, kind)
        for name in self._text_features:
            values = features[name].bytes_list.value if name in features else ()
            if not values:
                self._count(MISSING_FEATURE)
                continue
            self._count(TEXT_VALUES_READ)
            try:
                text = b" ".join(values).decode("utf-8")
            except UnicodeDecodeError:
                self._count(INVALID_UTF8)
                continue
            for line in text.splitlines() or [""]:
                self._count(LINES_READ)
                truncated = len(line) > self._max_chars
                if truncated:
                    line = line[: self._max_chars]
                line = normalize(line, self._lower_case)
                if len(line) > self._max_chars:  # NFKC can lengthen a line
                    line = line[: self._max_chars].rstrip(" ")
                    truncated = True
                if truncated:
                    self._count(TRUNCATED)
                if not line:
                    self._count(EMPTY)
                    continue
                yield line

    def finish_bundle(self):
        for name, n in sorted(self._counts.items()):
            yield beam.pvalue.TaggedOutput(_STATS, GlobalWindows.windowed_value((name, n)))


class DropDuplicates(beam.DoFn):
    """(line, occurrences) -> line; counts the extra occurrences as duplicates."""

    def setup(self):
        self._duplicates = beam.metrics.Metrics.counter(METRICS_NAMESPACE, DUPLICATE)

    def process(self, line_count: Tuple[str, int]) -> Iterable[Any]:
        line, count = line_count
        if count > 1:
            self._duplicates.inc(count - 1)
            yield beam.pvalue.TaggedOutput(_STATS, (DUPLICATE, count - 1))
        yield line


def is_training(keyed: Tuple[int, str], heldout: List[Tuple[int, str]], threshold: int, cap: int) -> bool:
    """Whether a (heldout hash, line) is not held out: held out are the `cap` smallest below `threshold`."""
    if keyed[0] >= threshold or cap == 0:
        return True
    if len(heldout) < cap:  # every candidate below the threshold is held out
        return False
    return tuple(keyed) > tuple(heldout[-1])


def _write_json(pcoll, path: str, label: str):
    return (
        pcoll
        | f"{label}ToJson" >> beam.Map(lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True))
        | f"Write{label}" >> beam.io.WriteToText(path, num_shards=1, shard_name_template="")
    )


def build(pipeline: beam.Pipeline, patterns: Sequence[str], compression: str, work_dir: str, *,
          text_features: List[str], lower_case: bool, max_sentence_chars: int, seed: int, heldout_fraction: float,
          max_heldout_sentences: int, max_sentences: int) -> None:
    """Adds the steps (module docstring) to `pipeline`: TFRecord `patterns` -> files under `work_dir`."""
    threshold = int(heldout_fraction * _HASH_SPACE)
    heldout_cap = max_heldout_sentences
    records = [
        pipeline | f"Read[{i}]" >> beam.io.ReadFromTFRecord(pattern, coder=beam.coders.BytesCoder(),
                                                           compression_type=compression)
        for i, pattern in enumerate(patterns)
    ]
    extracted = (
        records | "FlattenSplits" >> beam.Flatten()
        | "ExtractLines" >> beam.ParDo(
            ExtractLines(text_features, lower_case, max_sentence_chars)
        ).with_outputs(_STATS, _FEATURES, main="lines")
    )
    deduped = (
        extracted.lines
        | "CountLines" >> beam.combiners.Count.PerElement()
        | "DropDuplicates" >> beam.ParDo(DropDuplicates()).with_outputs(_STATS, main="lines")
    )
    keyed = deduped.lines | "HeldoutHash" >> beam.Map(lambda line: (line_hash(seed, "heldout", line), line))
    if threshold > 0 and heldout_cap > 0:
        heldout = (
            keyed
            | "HeldoutCandidates" >> beam.Filter(lambda kv: kv[0] < threshold)
            | "Heldout" >> beam.combiners.Top.Smallest(heldout_cap)
        )
    else:
        heldout = pipeline | "NoHeldout" >> beam.Create([[]])
    training = (
        keyed
        | "NotHeldout" >> beam.Filter(is_training, heldout=beam.pvalue.AsSingleton(heldout),
                                      threshold=threshold, cap=heldout_cap)
        | "Unkey" >> beam.Map(lambda kv: kv[1])
    )
    n_training = training | "CountTraining" >> beam.combiners.Count.Globally()

    def sample(line, n):
        rate = min(1.0, (max_sentences * _OVERSAMPLE + _OVERSAMPLE_EXTRA) / max(n, 1))
        h = line_hash(seed, "train", line)
        if rate >= 1.0 or h < int(rate * _HASH_SPACE):
            yield f"{h:016x}\t{line}"

    (
        training
        | "Sample" >> beam.FlatMap(sample, n=beam.pvalue.AsSingleton(n_training))
        | "WriteTraining" >> beam.io.WriteToText(os.path.join(work_dir, TRAINING_PREFIX))
    )
    counts = [
        extracted[_STATS],
        deduped[_STATS],
        keyed | "CountUnique" >> beam.combiners.Count.Globally() | "KeyUnique" >> beam.Map(
            lambda n: (LINES_UNIQUE, n)),
        n_training | "KeyTraining" >> beam.Map(lambda n: (TRAINING_CANDIDATES, n)),
    ]
    stats = (
        counts | "FlattenStats" >> beam.Flatten() | "SumStats" >> beam.CombinePerKey(sum)
        | "StatsToList" >> beam.combiners.ToList() | "StatsToDict" >> beam.Map(lambda kv: dict(sorted(kv)))
    )
    _write_json(stats, os.path.join(work_dir, STATS_FILE), "Stats")
    features = (
        extracted[_FEATURES] | "DistinctFeatures" >> beam.Distinct()
        | "FeaturesToList" >> beam.combiners.ToList() | "SortFeatures" >> beam.Map(sorted)
    )
    _write_json(features, os.path.join(work_dir, FEATURES_FILE), "Features")
    _write_json(heldout | "HeldoutLines" >> beam.Map(lambda kvs: [line for _, line in kvs]),
                os.path.join(work_dir, HELDOUT_FILE), "Heldout")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What the Beam job found, read back from its work directory."""

    stats: Dict[str, int]  # counts by name (DROP_REASONS, TRUNCATED, EXAMPLES_READ, ...)
    feature_kinds: Dict[str, List[str]]  # feature name -> the value kinds it has ("bytes_list", ...)
    heldout: List[str]  # the held-out lines
    training: List[List[str]]  # [hash hex, line] of the sampled training lines, sorted


def _read_json(path: str) -> Any:
    with tf.io.gfile.GFile(path, "r") as f:
        return json.loads(f.read())


def read_prepared(work_dir: str) -> Prepared:
    """The files `build` wrote under `work_dir` (after the pipeline has run)."""
    kinds: Dict[str, List[str]] = {}
    for name, kind in _read_json(os.path.join(work_dir, FEATURES_FILE)):
        kinds.setdefault(name, []).append(kind)
    keyed = []
    for path in sorted(tf.io.gfile.glob(os.path.join(work_dir, TRAINING_PREFIX + "*"))):
        with tf.io.gfile.GFile(path, "r") as f:
            keyed += [row.split("\t", 1) for row in f.read().split("\n") if row]
    keyed.sort()
    return Prepared(stats=_read_json(os.path.join(work_dir, STATS_FILE)), feature_kinds=kinds,
                    heldout=_read_json(os.path.join(work_dir, HELDOUT_FILE)), training=keyed)
