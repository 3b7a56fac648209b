"""The SentencePieceVocab component's spec: its input, output, execution parameters, their defaults and checks.

The SentencePiece trainer's settings (vocabulary size, model type, character coverage, threads, seed, line
length) take their defaults and their rules from `text_contract.sentencepiece_training`, which trains the
model; the rest (splits, sampling, held-out set, reuse) are the component's own.
"""

import json
from typing import Any, Dict, List, Union

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.artifacts import SentencePieceModel
from text_contract import sentencepiece_training

# Channel keys.
EXAMPLES_KEY = "examples"
SENTENCEPIECE_MODEL_KEY = "sentencepiece_model"

# Execution parameter keys.
TEXT_FEATURES_KEY = "text_features"  # JSON list of feature names (bytes features of the tf.Examples)
SPLITS_KEY = "splits"  # JSON list of the Examples splits to read
VOCAB_SIZE_KEY = "vocab_size"
MODEL_TYPE_KEY = "model_type"
CHARACTER_COVERAGE_KEY = "character_coverage"
LOWER_CASE_KEY = "lower_case"
MAX_SENTENCES_KEY = "max_sentences"
HELDOUT_FRACTION_KEY = "heldout_fraction"
MAX_HELDOUT_SENTENCES_KEY = "max_heldout_sentences"
SEED_KEY = "seed"
MAX_SENTENCE_CHARS_KEY = "max_sentence_chars"
NUM_THREADS_KEY = "num_threads"
# A glob of spm.model files (e.g. the vocabularies of served models); when one matches, the newest match
# (by natural sort of the path: version 10 after version 9) is reused instead of training a new one, so a
# model retrained on new data keeps the token ids it was warm-started with. "" (default): always train.
REUSE_MODEL_GLOB_KEY = "reuse_model_glob"
# A released checkpoint's own vocabulary (an ALBERT SentencePiece .model or a BERT-style WordPiece vocab.txt):
# passed on as the artifact instead of training one (and before any reuse: the checkpoint's ids are the ones
# its embeddings know). "" (default): train (or reuse).
IMPORT_FROM_KEY = "import_from"

MODEL_TYPES = sentencepiece_training.MODEL_TYPES

DEFAULTS: Dict[str, Any] = {
    SPLITS_KEY: ["train"],
    VOCAB_SIZE_KEY: sentencepiece_training.DEFAULT_VOCAB_SIZE,
    MODEL_TYPE_KEY: sentencepiece_training.DEFAULT_MODEL_TYPE,
    CHARACTER_COVERAGE_KEY: sentencepiece_training.DEFAULT_CHARACTER_COVERAGE,
    LOWER_CASE_KEY: False,
    MAX_SENTENCES_KEY: 1_000_000,
    HELDOUT_FRACTION_KEY: 0.01,
    MAX_HELDOUT_SENTENCES_KEY: 10_000,
    SEED_KEY: sentencepiece_training.DEFAULT_SEED,
    # Longer lines are cut to this many characters (and counted as truncated).
    MAX_SENTENCE_CHARS_KEY: sentencepiece_training.DEFAULT_MAX_SENTENCE_CHARS,
    # SentencePiece's trainer threads: a fixed setting, since the model bytes depend on it.
    NUM_THREADS_KEY: sentencepiece_training.DEFAULT_NUM_THREADS,
    REUSE_MODEL_GLOB_KEY: "",
    IMPORT_FROM_KEY: "",
}


class SentencePieceVocabSpec(ComponentSpec):
    """Examples in; a SentencePieceModel artifact (spm.model, spm.vocab, summary.json) out."""

    PARAMETERS = {
        TEXT_FEATURES_KEY: ExecutionParameter(type=str),
        SPLITS_KEY: ExecutionParameter(type=str, optional=True),
        VOCAB_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        MODEL_TYPE_KEY: ExecutionParameter(type=str, optional=True),
        CHARACTER_COVERAGE_KEY: ExecutionParameter(type=float, optional=True),
        LOWER_CASE_KEY: ExecutionParameter(type=bool, optional=True),
        MAX_SENTENCES_KEY: ExecutionParameter(type=int, optional=True),
        HELDOUT_FRACTION_KEY: ExecutionParameter(type=float, optional=True),
        MAX_HELDOUT_SENTENCES_KEY: ExecutionParameter(type=int, optional=True),
        SEED_KEY: ExecutionParameter(type=int, optional=True),
        MAX_SENTENCE_CHARS_KEY: ExecutionParameter(type=int, optional=True),
        NUM_THREADS_KEY: ExecutionParameter(type=int, optional=True),
        REUSE_MODEL_GLOB_KEY: ExecutionParameter(type=str, optional=True),
        IMPORT_FROM_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {SENTENCEPIECE_MODEL_KEY: ChannelParameter(type=SentencePieceModel)}


def _names(value: Union[str, List[str], None], key: str) -> List[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [value]  # a bare feature name
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{key} must be a non-empty list of non-empty strings, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{key} has duplicates: {list(value)!r}")
    return list(value)


def resolve_parameters(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """Execution properties with defaults filled in, lists decoded and every value checked.

    Raises ValueError naming the parameter for a bad value.
    """
    p = dict(DEFAULTS)
    p.update({k: v for k, v in exec_properties.items() if v is not None and k in SentencePieceVocabSpec.PARAMETERS})
    if TEXT_FEATURES_KEY not in p:
        raise ValueError(f"{TEXT_FEATURES_KEY} is required")
    p[TEXT_FEATURES_KEY] = _names(p[TEXT_FEATURES_KEY], TEXT_FEATURES_KEY)
    p[SPLITS_KEY] = _names(p[SPLITS_KEY], SPLITS_KEY)
    for key in (VOCAB_SIZE_KEY, MAX_SENTENCES_KEY, MAX_HELDOUT_SENTENCES_KEY, SEED_KEY, MAX_SENTENCE_CHARS_KEY,
                NUM_THREADS_KEY):
        if isinstance(p[key], bool) or not isinstance(p[key], int):
            raise ValueError(f"{key} must be an integer, got {p[key]!r}")
    for key in (CHARACTER_COVERAGE_KEY, HELDOUT_FRACTION_KEY):
        if isinstance(p[key], bool) or not isinstance(p[key], (int, float)):
            raise ValueError(f"{key} must be a number, got {p[key]!r}")
        p[key] = float(p[key])
    p[LOWER_CASE_KEY] = bool(p[LOWER_CASE_KEY])
    if not isinstance(p[IMPORT_FROM_KEY], str):
        raise ValueError(f"{IMPORT_FROM_KEY} must be a string (a vocabulary file's path), got {p[IMPORT_FROM_KEY]!r}")
    if not isinstance(p[REUSE_MODEL_GLOB_KEY], str):
        raise ValueError(f"{REUSE_MODEL_GLOB_KEY} must be a string (a glob of spm.model files), got {p[REUSE_MODEL_GLOB_KEY]!r}")
    # Model type, vocabulary size and character coverage: the trainer's own rules (errors name the key).
    sentencepiece_training.trainer_options(
        vocab_size=p[VOCAB_SIZE_KEY], model_type=p[MODEL_TYPE_KEY], character_coverage=p[CHARACTER_COVERAGE_KEY],
        num_threads=p[NUM_THREADS_KEY], max_sentence_chars=p[MAX_SENTENCE_CHARS_KEY])
    checks = (
        (HELDOUT_FRACTION_KEY, 0.0 <= p[HELDOUT_FRACTION_KEY] < 1.0, "in [0, 1)"),
        (MAX_SENTENCES_KEY, p[MAX_SENTENCES_KEY] > 0, "> 0"),
        (MAX_HELDOUT_SENTENCES_KEY, p[MAX_HELDOUT_SENTENCES_KEY] >= 0, ">= 0"),
        (SEED_KEY, p[SEED_KEY] >= 0, ">= 0"),
        (MAX_SENTENCE_CHARS_KEY, p[MAX_SENTENCE_CHARS_KEY] > 0, "> 0"),
        (NUM_THREADS_KEY, p[NUM_THREADS_KEY] > 0, "> 0"),
    )
    for key, ok, rule in checks:
        if not ok:
            raise ValueError(f"{key} must be {rule}, got {p[key]!r}")
    return p
