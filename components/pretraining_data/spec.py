"""PretrainingDataGen's spec: channel and parameter keys, the parameters' defaults and validation, the ComponentSpec.

`resolve_parameters(exec_properties)` fills in the defaults and checks every numeric parameter (a bad value
raises ValueError naming it); the component calls it when it is built, the executor when it runs, and the
pipeline's config when it is checked. The generation settings and their defaults are
`generation.GenerationConfig`'s (ALBERT's, with max_seq_length 128).
"""

from typing import Any, Dict

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import SentencePieceModel
from components.pretraining_data import generation

# Input and output keys.
SENTENCEPIECE_MODEL_KEY = "sentencepiece_model"
EXAMPLES_KEY = "examples"
PRETRAINING_EXAMPLES_KEY = "pretraining_examples"

# Execution parameter keys: where the documents come from ...
TEXT_FEATURE_KEY = "text_feature"
TEXT_FILE_PATTERN_KEY = "text_file_pattern"
SPLITS_KEY = "splits"  # JSON list; default: every split
# ... how instances are made (generation.GenerationConfig's fields) ...
GENERATION_FIELDS = ("max_seq_length", "short_seq_prob", "masked_lm_prob", "max_predictions_per_seq",
                     "max_ngram", "dupe_factor", "seed")
# ... and how they are written.
NUM_SHARDS_KEY = "num_shards"
MAX_DOCUMENT_CHARS_KEY = "max_document_chars"

# The one split PretrainingDataGen writes.
OUTPUT_SPLIT = "train"

_DEFAULT_CONFIG = generation.GenerationConfig()
DEFAULTS: Dict[str, Any] = {
    **{name: getattr(_DEFAULT_CONFIG, name) for name in GENERATION_FIELDS},
    NUM_SHARDS_KEY: 4,
    MAX_DOCUMENT_CHARS_KEY: 1_000_000,
}
_FLOAT_FIELDS = ("short_seq_prob", "masked_lm_prob")


def resolve_parameters(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """The numeric parameters with defaults filled in, validated (errors name the parameter)."""
    params = {name: exec_properties.get(name) for name in DEFAULTS}
    params = {name: DEFAULTS[name] if value is None else value for name, value in params.items()}
    for name in _FLOAT_FIELDS:
        params[name] = float(params[name])
    generation.GenerationConfig(**generation_kwargs(params))
    for name in (NUM_SHARDS_KEY, MAX_DOCUMENT_CHARS_KEY):
        if not isinstance(params[name], int) or params[name] < 1:
            raise ValueError(f"{name} must be an int >= 1, got {params[name]!r}")
    return params


def generation_kwargs(params: Dict[str, Any]) -> Dict[str, Any]:
    """The `generation.GenerationConfig` keyword arguments among resolved parameters (all but vocab_size)."""
    return {name: params[name] for name in GENERATION_FIELDS}


class PretrainingDataGenSpec(types.ComponentSpec):
    """Inputs: a SentencePieceModel and, optionally, Examples; output: Examples (split "train")."""

    PARAMETERS = {
        TEXT_FEATURE_KEY: ExecutionParameter(type=str, optional=True),
        TEXT_FILE_PATTERN_KEY: ExecutionParameter(type=str, optional=True),
        SPLITS_KEY: ExecutionParameter(type=str, optional=True),
        **{name: ExecutionParameter(type=float if name in _FLOAT_FIELDS else int) for name in GENERATION_FIELDS},
        NUM_SHARDS_KEY: ExecutionParameter(type=int),
        MAX_DOCUMENT_CHARS_KEY: ExecutionParameter(type=int),
    }
    INPUTS = {
        SENTENCEPIECE_MODEL_KEY: ChannelParameter(type=SentencePieceModel),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
    }
    OUTPUTS = {
        PRETRAINING_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
