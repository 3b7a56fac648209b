"""SentencePieceVocab's logic after the Beam job: train (or reuse) the model, summarize, write the artifact's files.

- `train(params, prepared)`: checks that the text features exist and hold text, takes the `max_sentences`
  training lines with the smallest hashes (sorted, so SentencePiece reads them in a fixed order), trains with
  `text_contract.sentencepiece_training.train_sentencepiece` (ALBERT's special pieces, no BOS/EOS, the
  "identity" normalization rule since the lines are normalized already) and measures the unknown-piece rate
  on the held-out lines. Returns the model and the summary.
- `reuse(source, params)`: an existing model (a served model's vocabulary) instead of a new one, once its
  special pieces are checked (`text_contract.pieces.check_special_pieces`).
- `import_vocabulary(source, params)`: a released checkpoint's vocabulary (SentencePiece or WordPiece), checked,
  with the tokenization it needs (`text_contract.vocabulary.imported_tokenization`).
- `write_outputs(uri, model, summary)`: spm.model, spm.vocab and summary.json (`components.artifacts`); for a
  WordPiece vocabulary `spm.model` holds the vocab.txt bytes (the artifact's file names are its contract).
- `counts_line(summary)` / `describe(uri)`: what the run read, kept, dropped by reason and truncated, in one line
  (the pipeline's progress and closing summary).

`params` are `spec.resolve_parameters`'s; `prepared` is `beam_pipeline.read_prepared`'s.
"""

import hashlib
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

import tensorflow as tf

from components import artifacts, data_counts
from components.sentencepiece_vocab import beam_pipeline
from components.sentencepiece_vocab import spec as spec_lib
from text_contract import normalization, pieces, sentencepiece_training, storage, vocabulary


def _natural_key(path: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _wildcard_directory(pattern: str, match: str) -> Optional[str]:
    """The directory of `match` that the first wildcard segment of `pattern` matched (`<served>/7` for the
    pattern `<served>/*/assets.extra/spm.model`); None when `pattern` names one file."""
    segments = pattern.split("/")
    first = next((i for i, segment in enumerate(segments[:-1]) if any(c in segment for c in "*?[")), None)
    return None if first is None else "/".join(match.split("/")[:first + 1])


def _published(pattern: str, match: str) -> bool:
    directory = _wildcard_directory(pattern, match)
    return directory is None or storage.is_published(directory)


def newest_match(pattern: str) -> Optional[str]:
    """The match of `pattern` that sorts last naturally (".../10/..." after ".../9/..."), or None. Only matches
    in a published directory count (`storage.is_published` of the directory the first wildcard of a directory
    segment matched: a served version that a push is still copying to an object store is not one yet)."""
    if not pattern:
        return None
    storage.register_filesystem(pattern)
    matches = [m for m in tf.io.gfile.glob(pattern) if _published(pattern, m)]
    return max(matches, key=_natural_key) if matches else None


def unknown_rate(model_proto: bytes, lines: List[str]) -> Dict[str, Any]:
    """Share of <unk> among the pieces of `lines` (already normalized), and of lines with any <unk>."""
    processor = pieces.load_processor(model_proto)
    total = unknown = lines_with_unknown = 0
    for ids in processor.encode(lines) if lines else []:
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


def check_text_features(params: Mapping[str, Any], feature_kinds: Mapping[str, List[str]]) -> None:
    """ValueError naming the feature (and those that exist) when a text feature is missing or not text."""
    for name in params[spec_lib.TEXT_FEATURES_KEY]:
        if name not in feature_kinds:
            raise ValueError(
                f"text feature {name!r} is not in any example of split(s) {params[spec_lib.SPLITS_KEY]}; "
                f"the features are: {sorted(feature_kinds)}"
            )
        if "bytes_list" not in feature_kinds[name]:
            raise ValueError(
                f"text feature {name!r} holds {sorted(feature_kinds[name])} values, not text (bytes_list); "
                f"the text features are: {sorted(n for n, k in feature_kinds.items() if 'bytes_list' in k)}"
            )


def training_lines(prepared: beam_pipeline.Prepared, max_sentences: int) -> List[str]:
    """The `max_sentences` sampled lines with the smallest hashes, sorted (the order SentencePiece reads)."""
    return sorted(line for _, line in prepared.training[:max_sentences])


def train(params: Mapping[str, Any], prepared: beam_pipeline.Prepared) -> Tuple[bytes, Dict[str, Any]]:
    """(serialized model, summary) trained on the prepared lines; see the module docstring."""
    check_text_features(params, prepared.feature_kinds)
    stats = prepared.stats
    lines = training_lines(prepared, params[spec_lib.MAX_SENTENCES_KEY])
    if not lines:
        raise ValueError(
            f"no usable text in feature(s) {params[spec_lib.TEXT_FEATURES_KEY]} of split(s) "
            f"{params[spec_lib.SPLITS_KEY]}: {json.dumps(stats, sort_keys=True)}"
        )
    model_proto = sentencepiece_training.train_sentencepiece(
        lines,
        params[spec_lib.VOCAB_SIZE_KEY],
        model_type=params[spec_lib.MODEL_TYPE_KEY],
        character_coverage=params[spec_lib.CHARACTER_COVERAGE_KEY],
        seed=params[spec_lib.SEED_KEY],
        num_threads=params[spec_lib.NUM_THREADS_KEY],
        max_sentence_chars=params[spec_lib.MAX_SENTENCE_CHARS_KEY],
    )
    candidates = stats.get(beam_pipeline.TRAINING_CANDIDATES, 0)
    summary = {
        "splits": params[spec_lib.SPLITS_KEY],
        "text_features": params[spec_lib.TEXT_FEATURES_KEY],
        "examples_read": stats.get(beam_pipeline.EXAMPLES_READ, 0),
        "text_values_read": stats.get(beam_pipeline.TEXT_VALUES_READ, 0),
        "lines_read": stats.get(beam_pipeline.LINES_READ, 0),
        "dropped": {reason: stats.get(reason, 0) for reason in beam_pipeline.DROP_REASONS},
        "truncated": stats.get(beam_pipeline.TRUNCATED, 0),
        "lines_unique": stats.get(beam_pipeline.LINES_UNIQUE, 0),
        "sentences_heldout": len(prepared.heldout),
        "sentences_for_training": candidates,
        "sentences_used": len(lines),
        "sentences_sampled_out": candidates - len(lines),
        "pieces": pieces.piece_count(model_proto),
        "vocab_size": params[spec_lib.VOCAB_SIZE_KEY],
        "model_type": params[spec_lib.MODEL_TYPE_KEY],
        "character_coverage": params[spec_lib.CHARACTER_COVERAGE_KEY],
        artifacts.SUMMARY_LOWER_CASE_KEY: params[spec_lib.LOWER_CASE_KEY],
        "normalization": normalization.describe(params[spec_lib.LOWER_CASE_KEY]),
        "seed": params[spec_lib.SEED_KEY],
        "max_sentences": params[spec_lib.MAX_SENTENCES_KEY],
        "heldout_fraction": params[spec_lib.HELDOUT_FRACTION_KEY],
        "max_heldout_sentences": params[spec_lib.MAX_HELDOUT_SENTENCES_KEY],
        "max_sentence_chars": params[spec_lib.MAX_SENTENCE_CHARS_KEY],
        "num_threads": params[spec_lib.NUM_THREADS_KEY],
        "model_sha256": hashlib.sha256(model_proto).hexdigest(),
        **unknown_rate(model_proto, prepared.heldout),
    }
    return model_proto, summary


def reuse(source: str, params: Mapping[str, Any]) -> Tuple[bytes, Dict[str, Any]]:
    """(model, summary) of the vocabulary at `source`, checked; VocabularyError naming `source` if unusable."""
    with tf.io.gfile.GFile(source, "rb") as f:
        model_proto = f.read()
    name = f"{spec_lib.REUSE_MODEL_GLOB_KEY}: {source} is not a usable vocabulary"
    summary = {
        "reused_from": source,
        "text_features": params[spec_lib.TEXT_FEATURES_KEY],
        "pieces": pieces.check_special_pieces(model_proto, name),
        artifacts.SUMMARY_LOWER_CASE_KEY: params[spec_lib.LOWER_CASE_KEY],
        "model_sha256": hashlib.sha256(model_proto).hexdigest(),
        "unknown_rate": None,
    }
    return model_proto, summary


def import_vocabulary(source: str, params: Mapping[str, Any]) -> Tuple[bytes, Dict[str, Any]]:
    """(vocabulary bytes, summary) of a released checkpoint's vocabulary; VocabularyError naming it if unusable."""
    if not tf.io.gfile.exists(source):
        raise vocabulary.VocabularyError(f"{spec_lib.IMPORT_FROM_KEY}: {source} does not exist")
    with tf.io.gfile.GFile(source, "rb") as f:
        data = f.read()
    info = vocabulary.read_vocabulary(data, f"{spec_lib.IMPORT_FROM_KEY}: {source}")
    summary = {
        "imported_from": source,
        "kind": info.kind,
        artifacts.SUMMARY_TOKENIZATION_KEY: vocabulary.imported_tokenization(info.kind),
        "text_features": params[spec_lib.TEXT_FEATURES_KEY],
        "pieces": info.size,
        artifacts.SUMMARY_LOWER_CASE_KEY: params[spec_lib.LOWER_CASE_KEY],
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "unknown_rate": None,
    }
    return data, summary


def write_outputs(output_uri: str, model_proto: bytes, summary: Mapping[str, Any]) -> None:
    """spm.model, spm.vocab and summary.json of the SentencePieceModel artifact at `output_uri`."""
    tf.io.gfile.makedirs(output_uri)
    with tf.io.gfile.GFile(artifacts.model_path(output_uri), "wb") as f:
        f.write(model_proto)
    wordpiece = summary.get("kind") == vocabulary.WORDPIECE
    with tf.io.gfile.GFile(artifacts.vocab_path(output_uri), "w") as f:
        f.write(model_proto.decode("utf-8") if wordpiece else sentencepiece_training.vocab_text(model_proto))
    with tf.io.gfile.GFile(artifacts.summary_path(output_uri), "w") as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def counts_line(summary: Mapping[str, Any]) -> str:
    """`read 3,000 examples (3,000 lines), kept 2,950 distinct lines, skipped 50 (duplicate 50), truncated 0 ...`;
    for a reused or imported vocabulary, where it came from (it read no rows)."""
    for key, verb in (("imported_from", "imported"), ("reused_from", "reused")):
        if summary.get(key):
            return f"{verb} {summary[key]} ({summary['pieces']:,} pieces); no rows read"
    line = data_counts.counts_text(
        summary["examples_read"], summary["lines_unique"],
        {reason: summary["dropped"].get(reason, 0) for reason in beam_pipeline.DROP_REASONS},  # JSON sorts keys
        summary["truncated"], unit="examples",
        kept_detail=f"distinct lines of {summary['lines_read']:,}",
        truncated_detail=f"lines cut to {summary['max_sentence_chars']:,} characters")
    return line + f"; trained {summary['pieces']:,} pieces on {summary['sentences_used']:,} lines"


def describe(uri: str) -> Optional[str]:
    """`counts_line` of the SentencePieceModel artifact at `uri`; None without its summary."""
    if not tf.io.gfile.exists(artifacts.summary_path(uri)):
        return None
    return counts_line(artifacts.read_summary(uri))
