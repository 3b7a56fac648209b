"""PretrainingDataGen's ComponentSpec."""

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import SentencePieceModel  # noqa: F401  (re-exported for the component)

# Input and output keys.
SENTENCEPIECE_MODEL_KEY = "sentencepiece_model"
EXAMPLES_KEY = "examples"
PRETRAINING_EXAMPLES_KEY = "pretraining_examples"

# The one split PretrainingDataGen writes.
OUTPUT_SPLIT = "train"


class PretrainingDataGenSpec(types.ComponentSpec):
    """Inputs: a SentencePieceModel and, optionally, Examples; output: Examples (split "train")."""

    PARAMETERS = {
        "text_feature": ExecutionParameter(type=str, optional=True),
        "text_file_pattern": ExecutionParameter(type=str, optional=True),
        "splits": ExecutionParameter(type=str, optional=True),  # JSON list; default: every split
        "max_seq_length": ExecutionParameter(type=int),
        "short_seq_prob": ExecutionParameter(type=float),
        "masked_lm_prob": ExecutionParameter(type=float),
        "max_predictions_per_seq": ExecutionParameter(type=int),
        "max_ngram": ExecutionParameter(type=int),
        "dupe_factor": ExecutionParameter(type=int),
        "seed": ExecutionParameter(type=int),
        "num_shards": ExecutionParameter(type=int),
        "max_document_chars": ExecutionParameter(type=int),
    }
    INPUTS = {
        SENTENCEPIECE_MODEL_KEY: ChannelParameter(type=SentencePieceModel),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
    }
    OUTPUTS = {
        PRETRAINING_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
    }
