"""SentencePieceVocab's executor: Beam prepares the sentences, SentencePiece trains, the artifact gets the files.

The Beam part reads the chosen splits of an Examples artifact (gzipped TFRecords of tf.Example) and
1. pulls the text features (bytes values of one feature are joined with a space, as the Transform does),
   decodes UTF-8 strictly, splits into lines and cuts lines longer than `max_sentence_chars`;
2. normalizes each line with `normalize.normalize` (NFKC, optional lower case, whitespace);
3. drops empty lines and duplicates (each distinct line is kept once);
4. holds out the lines whose seeded hash falls below `heldout_fraction` (at most `max_heldout_sentences`
   of them, the smallest hashes), to measure the unknown-piece rate;
5. samples the training lines by a second seeded hash, so that at most `max_sentences` are used.
No step depends on worker order, bundle sizes or randomness: the same data and parameters give the same
model bytes (the lines are also sorted before SentencePiece reads them).

Bad input is counted (Beam counters in the namespace `SentencePieceVocab`, and `summary.json`) and
skipped, never fatal: `missing_feature` (no value for a text feature), `invalid_utf8`, `invalid_example`
(a record that is not a tf.Example), `empty` (empty or whitespace-only line), `duplicate`; `truncated`
counts lines that were cut and kept. A text feature that no example has is a configuration error: it
raises a ValueError naming the feature and the features that exist.

SentencePiece is trained with ALBERT's special pieces (`trainer.data_contract`): <pad>=0, <unk>=1,
[CLS]=2, [SEP]=3, [MASK]=4, no BOS/EOS, and the "identity" normalization rule, since the lines are already
normalized (see normalize.py for why this makes tokenization round-trip).
"""

import hashlib
import io
import json
import os
import re
import tempfile
from typing import Any, Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
import sentencepiece as spm
import tensorflow as tf
from absl import logging
from apache_beam.transforms.window import GlobalWindows
from google.protobuf.message import DecodeError
from tensorflow.core.example import example_pb2
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components import artifacts as artifact_lib
from components.sentencepiece_vocab import spec as spec_lib
from text_contract.normalization import normalize
from text_contract import pieces
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

_STATS = "stats"
_FEATURES = "features"
# Oversampling before the exact cap: the Beam sample keeps about 10% (+1000) more than max_sentences.
_OVERSAMPLE = 1.1
_OVERSAMPLE_EXTRA = 1000
_HASH_SPACE = 2**63  # hashes fit Beam's signed 64-bit integer coder


def _write_outputs(output_uri: str, model_proto: bytes, summary: Dict[str, Any]) -> None:
    """spm.model, spm.vocab and summary.json of the SentencePieceModel artifact."""
    tf.io.gfile.makedirs(output_uri)
    with tf.io.gfile.GFile(artifact_lib.model_path(output_uri), "wb") as f:
        f.write(model_proto)
    with tf.io.gfile.GFile(artifact_lib.vocab_path(output_uri), "w") as f:
        f.write(vocab_text(model_proto))
    with tf.io.gfile.GFile(artifact_lib.summary_path(output_uri), "w") as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _natural_key(path: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def newest_match(pattern: str) -> Optional[str]:
    """The match of `pattern` that sorts last naturally (".../10/..." after ".../9/..."), or None."""
    if not pattern:
        return None
    matches = tf.io.gfile.glob(pattern)
    return max(matches, key=_natural_key) if matches else None


def line_hash(seed: int, purpose: str, line: str) -> int:
    """A 63-bit hash of a line, salted with the seed and the purpose (stable across processes and runs)."""
    digest = hashlib.blake2b(f"{seed}\x00{purpose}\x00{line}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class _ExtractLines(beam.DoFn):
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


class _DropDuplicates(beam.DoFn):
    """(line, occurrences) -> line; counts the extra occurrences as duplicates."""

    def setup(self):
        self._duplicates = beam.metrics.Metrics.counter(METRICS_NAMESPACE, DUPLICATE)

    def process(self, line_count: Tuple[str, int]) -> Iterable[Any]:
        line, count = line_count
        if count > 1:
            self._duplicates.inc(count - 1)
            yield beam.pvalue.TaggedOutput(_STATS, (DUPLICATE, count - 1))
        yield line


def _is_training(keyed: Tuple[int, str], heldout: List[Tuple[int, str]], threshold: int, cap: int) -> bool:
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


def _read_json(path: str) -> Any:
    with tf.io.gfile.GFile(path, "r") as f:
        return json.loads(f.read())


def unknown_rate(model_proto: bytes, lines: List[str]) -> Dict[str, Any]:
    """Share of <unk> among the pieces of `lines` (already normalized), and of lines with any <unk>."""
    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    total = unknown = lines_with_unknown = 0
    for ids in sp.encode(lines) if lines else []:
        n = sum(1 for i in ids if i == pieces.UNK_ID)
        total += len(ids)
        unknown += n
        lines_with_unknown += n > 0
    return {
        "heldout_pieces": total,
        "heldout_unknown_pieces": unknown,
        "unknown_rate": unknown / total if total else None,
        "heldout_lines_with_unknown": lines_with_unknown,
    }


class Executor(base_beam_executor.BaseBeamExecutor):
    """Trains the SentencePiece model; see the module docstring."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        params = spec_lib.resolve_parameters(exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[spec_lib.EXAMPLES_KEY])
        output = artifact_utils.get_single_instance(output_dict[spec_lib.SENTENCEPIECE_MODEL_KEY])
        payload = examples_utils.get_payload_format(examples)
        if payload != example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE:
            raise ValueError(
                "SentencePieceVocab reads tf.Example payloads; the Examples artifact holds "
                f"{example_gen_pb2.PayloadFormat.Name(payload)}"
            )
        compression = (
            beam.io.filesystem.CompressionTypes.GZIP
            if examples_utils.get_file_format(examples) == "tfrecords_gzip"
            else beam.io.filesystem.CompressionTypes.AUTO
        )
        patterns = []
        for split in params[spec_lib.SPLITS_KEY]:
            try:
                patterns += examples_utils.get_split_file_patterns([examples], split)
            except ValueError as e:
                available = artifact_utils.decode_split_names(examples.split_names)
                raise ValueError(f"split {split!r} is not in the Examples; the splits are {available}") from e

        reusable = newest_match(params[spec_lib.REUSE_MODEL_GLOB_KEY])
        if reusable:
            summary = self._reuse(reusable, params, output.uri)
            output.set_int_custom_property("pieces", summary["pieces"])
            output.set_string_custom_property("model_sha256", summary["model_sha256"])
            output.set_string_custom_property("reused_from", reusable)
            return
        work_dir = self._work_dir()
        try:
            self._run_beam(patterns, compression, params, work_dir)
            summary = self._train(params, work_dir, output.uri)
        finally:
            if tf.io.gfile.exists(work_dir):
                tf.io.gfile.rmtree(work_dir)
        output.set_int_custom_property("pieces", summary["pieces"])
        output.set_int_custom_property("sentences_used", summary["sentences_used"])
        output.set_string_custom_property("model_sha256", summary["model_sha256"])
        if summary["unknown_rate"] is not None:
            output.set_string_custom_property("unknown_rate", f"{summary['unknown_rate']:.6g}")
        logging.info("SentencePieceVocab summary: %s", json.dumps(summary, sort_keys=True))

    def _work_dir(self) -> str:
        if self._context is not None:
            return os.path.join(self._get_tmp_dir(), "sentencepiece_vocab")
        return tempfile.mkdtemp(prefix="sentencepiece_vocab_")

    def _run_beam(self, patterns: List[str], compression: str, params: Dict[str, Any], work_dir: str) -> None:
        seed = params[spec_lib.SEED_KEY]
        threshold = int(params[spec_lib.HELDOUT_FRACTION_KEY] * _HASH_SPACE)
        heldout_cap = params[spec_lib.MAX_HELDOUT_SENTENCES_KEY]
        max_sentences = params[spec_lib.MAX_SENTENCES_KEY]
        with self._make_beam_pipeline() as p:
            records = [
                p | f"Read[{i}]" >> beam.io.ReadFromTFRecord(pattern, coder=beam.coders.BytesCoder(),
                                                            compression_type=compression)
                for i, pattern in enumerate(patterns)
            ]
            extracted = (
                records | "FlattenSplits" >> beam.Flatten()
                | "ExtractLines" >> beam.ParDo(
                    _ExtractLines(params[spec_lib.TEXT_FEATURES_KEY], params[spec_lib.LOWER_CASE_KEY],
                                  params[spec_lib.MAX_SENTENCE_CHARS_KEY])
                ).with_outputs(_STATS, _FEATURES, main="lines")
            )
            deduped = (
                extracted.lines
                | "CountLines" >> beam.combiners.Count.PerElement()
                | "DropDuplicates" >> beam.ParDo(_DropDuplicates()).with_outputs(_STATS, main="lines")
            )
            keyed = deduped.lines | "HeldoutHash" >> beam.Map(lambda line: (line_hash(seed, "heldout", line), line))
            if threshold > 0 and heldout_cap > 0:
                heldout = (
                    keyed
                    | "HeldoutCandidates" >> beam.Filter(lambda kv: kv[0] < threshold)
                    | "Heldout" >> beam.combiners.Top.Smallest(heldout_cap)
                )
            else:
                heldout = p | "NoHeldout" >> beam.Create([[]])
            training = (
                keyed
                | "NotHeldout" >> beam.Filter(_is_training, heldout=beam.pvalue.AsSingleton(heldout),
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
                | "WriteTraining" >> beam.io.WriteToText(os.path.join(work_dir, "training"))
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
            _write_json(stats, os.path.join(work_dir, "stats.json"), "Stats")
            features = (
                extracted[_FEATURES] | "DistinctFeatures" >> beam.Distinct()
                | "FeaturesToList" >> beam.combiners.ToList() | "SortFeatures" >> beam.Map(sorted)
            )
            _write_json(features, os.path.join(work_dir, "features.json"), "Features")
            _write_json(heldout | "HeldoutLines" >> beam.Map(lambda kvs: [line for _, line in kvs]),
                        os.path.join(work_dir, "heldout.json"), "Heldout")
        try:
            counters = p.result.metrics().query(beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE))
            logging.info("SentencePieceVocab counters: %s",
                         {c.key.metric.name: c.committed for c in counters["counters"]})
        except Exception:  # pylint: disable=broad-except  # some runners do not report metrics
            pass

    def _reuse(self, source: str, params: Dict[str, Any], output_uri: str) -> Dict[str, Any]:
        """Copies the vocabulary at `source` (a served model's) into the output instead of training one."""
        with tf.io.gfile.GFile(source, "rb") as f:
            model_proto = f.read()
        try:
            _check_special_pieces(model_proto)
        except Exception as error:
            raise ValueError(f"{spec_lib.REUSE_MODEL_GLOB_KEY}: {source} is not a usable vocabulary: {error}") from None
        summary = {
            "reused_from": source,
            "text_features": params[spec_lib.TEXT_FEATURES_KEY],
            "pieces": spm.SentencePieceProcessor(model_proto=model_proto).get_piece_size(),
            "lower_case": params[spec_lib.LOWER_CASE_KEY],
            "model_sha256": hashlib.sha256(model_proto).hexdigest(),
            "unknown_rate": None,
        }
        logging.info("SentencePieceVocab: reusing %s (%d pieces) instead of training", source, summary["pieces"])
        _write_outputs(output_uri, model_proto, summary)
        return summary

    def _check_features(self, params: Dict[str, Any], work_dir: str) -> None:
        kinds: Dict[str, List[str]] = {}
        for name, kind in _read_json(os.path.join(work_dir, "features.json")):
            kinds.setdefault(name, []).append(kind)
        for name in params[spec_lib.TEXT_FEATURES_KEY]:
            if name not in kinds:
                raise ValueError(
                    f"text feature {name!r} is not in any example of split(s) {params[spec_lib.SPLITS_KEY]}; "
                    f"the features are: {sorted(kinds)}"
                )
            if "bytes_list" not in kinds[name]:
                raise ValueError(
                    f"text feature {name!r} holds {sorted(kinds[name])} values, not text (bytes_list); "
                    f"the text features are: {sorted(n for n, k in kinds.items() if 'bytes_list' in k)}"
                )

    def _train(self, params: Dict[str, Any], work_dir: str, output_uri: str) -> Dict[str, Any]:
        self._check_features(params, work_dir)
        stats = _read_json(os.path.join(work_dir, "stats.json"))
        heldout = _read_json(os.path.join(work_dir, "heldout.json"))
        keyed = []
        for path in sorted(tf.io.gfile.glob(os.path.join(work_dir, "training*"))):
            with tf.io.gfile.GFile(path, "r") as f:
                keyed += [row.split("\t", 1) for row in f.read().split("\n") if row]
        keyed.sort()
        lines = sorted(line for _, line in keyed[: params[spec_lib.MAX_SENTENCES_KEY]])
        if not lines:
            raise ValueError(
                f"no usable text in feature(s) {params[spec_lib.TEXT_FEATURES_KEY]} of split(s) "
                f"{params[spec_lib.SPLITS_KEY]}: {json.dumps(stats, sort_keys=True)}"
            )
        model_proto = self._train_sentencepiece(params, lines)
        _check_special_pieces(model_proto)
        summary = {
            "splits": params[spec_lib.SPLITS_KEY],
            "text_features": params[spec_lib.TEXT_FEATURES_KEY],
            "examples_read": stats.get(EXAMPLES_READ, 0),
            "text_values_read": stats.get(TEXT_VALUES_READ, 0),
            "lines_read": stats.get(LINES_READ, 0),
            "dropped": {reason: stats.get(reason, 0) for reason in DROP_REASONS},
            "truncated": stats.get(TRUNCATED, 0),
            "lines_unique": stats.get(LINES_UNIQUE, 0),
            "sentences_heldout": len(heldout),
            "sentences_for_training": stats.get(TRAINING_CANDIDATES, 0),
            "sentences_used": len(lines),
            "sentences_sampled_out": stats.get(TRAINING_CANDIDATES, 0) - len(lines),
            "pieces": spm.SentencePieceProcessor(model_proto=model_proto).get_piece_size(),
            "vocab_size": params[spec_lib.VOCAB_SIZE_KEY],
            "model_type": params[spec_lib.MODEL_TYPE_KEY],
            "character_coverage": params[spec_lib.CHARACTER_COVERAGE_KEY],
            "lower_case": params[spec_lib.LOWER_CASE_KEY],
            "normalization": "NFKC" + (" + lower case" if params[spec_lib.LOWER_CASE_KEY] else "")
            + ", whitespace runs to one space (components/sentencepiece_vocab/normalize.py)",
            "seed": params[spec_lib.SEED_KEY],
            "max_sentences": params[spec_lib.MAX_SENTENCES_KEY],
            "heldout_fraction": params[spec_lib.HELDOUT_FRACTION_KEY],
            "max_heldout_sentences": params[spec_lib.MAX_HELDOUT_SENTENCES_KEY],
            "max_sentence_chars": params[spec_lib.MAX_SENTENCE_CHARS_KEY],
            "num_threads": params[spec_lib.NUM_THREADS_KEY],
            "model_sha256": hashlib.sha256(model_proto).hexdigest(),
            **unknown_rate(model_proto, heldout),
        }
        _write_outputs(output_uri, model_proto, summary)
        return summary

    def _train_sentencepiece(self, params: Dict[str, Any], lines: List[str]) -> bytes:
        """The serialized model trained on `lines` (in memory: a file would put its path into the model)."""
        spm.set_random_generator_seed(params[spec_lib.SEED_KEY] % 2**32)
        model = io.BytesIO()
        options = dict(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=params[spec_lib.VOCAB_SIZE_KEY],
            model_type=params[spec_lib.MODEL_TYPE_KEY],
            character_coverage=params[spec_lib.CHARACTER_COVERAGE_KEY],
            pad_id=pieces.PAD_ID,
            pad_piece=pieces.PAD_PIECE,
            unk_id=pieces.UNK_ID,
            unk_piece=pieces.UNK_PIECE,
            bos_id=-1,
            eos_id=-1,
            control_symbols=list(pieces.CONTROL_PIECES),
            # The lines are normalized already (normalize.py); SentencePiece must not change them further.
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            # Read every line, in order: no sampling, no shuffling.
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=params[spec_lib.NUM_THREADS_KEY],
            # In bytes; lines are at most max_sentence_chars characters of at most 4 bytes.
            max_sentence_length=4 * params[spec_lib.MAX_SENTENCE_CHARS_KEY],
            # A small corpus yields fewer pieces rather than an error; summary.json reports the count.
            hard_vocab_limit=False,
            minloglevel=1,
        )
        try:
            spm.SentencePieceTrainer.train(**options)
        except RuntimeError as e:
            raise ValueError(
                f"SentencePiece could not train a {params[spec_lib.MODEL_TYPE_KEY]} model of "
                f"{params[spec_lib.VOCAB_SIZE_KEY]} pieces on {len(lines)} lines: {e}"
            ) from e
        return model.getvalue()


def vocab_text(model_proto: bytes) -> str:
    """The .vocab file SentencePiece writes beside a model: "piece<TAB>score" per id."""
    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    return "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(sp.get_piece_size()))


def _check_special_pieces(model_proto: bytes) -> None:
    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    expected = {
        pieces.PAD_ID: pieces.PAD_PIECE,
        pieces.UNK_ID: pieces.UNK_PIECE,
        pieces.CLS_ID: pieces.CLS_PIECE,
        pieces.SEP_ID: pieces.SEP_PIECE,
        pieces.MASK_ID: pieces.MASK_PIECE,
    }
    found = {i: sp.id_to_piece(i) for i in expected}
    if found != expected:
        raise RuntimeError(f"special pieces at the wrong ids: expected {expected}, got {found}")
