"""QaEvaluator's spec: channel and parameter keys, the validated options, and the ComponentSpec.

Inputs: `examples` (QaExampleGen's Examples: one tf.Example per question, `text_contract.features.QA_RAW_FEATURES`),
`model` (the Trainer's Model: a question-answering export with the `qa` signature under Format-Serving) and an
optional `baseline_model` (the last blessed model, from a LatestBlessedModelStrategy resolver; absent or empty on a
first run). Outputs: `evaluation` (ModelEvaluation; `gate.REPORT_FILE` inside) and `blessing` (ModelBlessing, as
TFX's Evaluator writes it, so the resolver and the Pusher read it unchanged). The keys are TFX's Evaluator's
(`standard_component_specs`), so the component wires like an Evaluator.

Parameters (`QaEvaluatorOptions` checks them; a ValueError names the parameter and the value received):
- `eval_split`: the Examples split to score. Default "eval" (QaExampleGen's).
- `min_f1`: the floor on the candidate's F1, a fraction in [0, 1] (not percent).
- `max_f1_drop`: how far the candidate's F1 may fall below the baseline's, a fraction in [0, 1]; None: no
  comparison with the baseline. Default 0.01, the classifier gate's `max_score_drop`.
- `language`: the scoring rules, "en" (SQuAD), "zh" (CMRC 2018) or "auto" (`components.qa_scoring`).
- `batch_size`: questions per call of the `qa` signature.
- `max_questions`: score only the first this many questions of the split (a quick look at a large split);
  None: all of them.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional

from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.types.system_executions import Evaluate

from components.qa_scoring import LANGUAGES

EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY
MODEL_KEY = standard_component_specs.MODEL_KEY
BASELINE_MODEL_KEY = standard_component_specs.BASELINE_MODEL_KEY
EVALUATION_KEY = standard_component_specs.EVALUATION_KEY
BLESSING_KEY = standard_component_specs.BLESSING_KEY

EVAL_SPLIT_KEY = "eval_split"
MIN_F1_KEY = "min_f1"
MAX_F1_DROP_KEY = "max_f1_drop"
LANGUAGE_KEY = "language"
BATCH_SIZE_KEY = "batch_size"
MAX_QUESTIONS_KEY = "max_questions"

DEFAULT_EVAL_SPLIT = "eval"
DEFAULT_MAX_F1_DROP = 0.01
DEFAULT_LANGUAGE = "auto"
DEFAULT_BATCH_SIZE = 32

# Custom properties. The evaluation artifact: the candidate's scores (fractions) and how many questions gave
# them. The blessing artifact: why the model was not blessed ("" when it was; the ClassMetricsEvaluator's name).
EXACT_MATCH_PROPERTY = "exact_match"
F1_PROPERTY = "f1"
QUESTION_COUNT_PROPERTY = "question_count"
NOT_BLESSED_BECAUSE_PROPERTY = "not_blessed_because"


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _fraction(name: str, value: Any) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        # A floor of 30 is the commonest slip: the official scripts print percentages.
        raise ValueError(f"{name} must be a fraction in [0, 1] (0.3 for 30%), got {value!r}")
    return float(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class QaEvaluatorOptions:
    """The QaEvaluator's parameters, checked (see the module docstring)."""

    min_f1: float
    max_f1_drop: Optional[float] = DEFAULT_MAX_F1_DROP
    eval_split: str = DEFAULT_EVAL_SPLIT
    language: str = DEFAULT_LANGUAGE
    batch_size: int = DEFAULT_BATCH_SIZE
    max_questions: Optional[int] = None

    def __post_init__(self):
        # Stored as floats: TFX's float ExecutionParameters refuse an int such as 0.
        object.__setattr__(self, "min_f1", _fraction(MIN_F1_KEY, self.min_f1))
        if self.max_f1_drop is not None:
            object.__setattr__(self, "max_f1_drop", _fraction(MAX_F1_DROP_KEY, self.max_f1_drop))
        if not isinstance(self.eval_split, str) or not self.eval_split:
            raise ValueError(f"{EVAL_SPLIT_KEY} must be a non-empty split name, got {self.eval_split!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"{LANGUAGE_KEY} must be one of {', '.join(map(repr, LANGUAGES))}, got {self.language!r}")
        _positive_int(BATCH_SIZE_KEY, self.batch_size)
        if self.max_questions is not None:
            _positive_int(MAX_QUESTIONS_KEY, self.max_questions)

    def to_exec_properties(self) -> Dict[str, Any]:
        """The component's parameters; None (no drop check, every question) is left out, as TFX leaves it."""
        values = {MIN_F1_KEY: self.min_f1, MAX_F1_DROP_KEY: self.max_f1_drop, EVAL_SPLIT_KEY: self.eval_split,
                  LANGUAGE_KEY: self.language, BATCH_SIZE_KEY: self.batch_size, MAX_QUESTIONS_KEY: self.max_questions}
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]) -> "QaEvaluatorOptions":
        """From the executor's exec_properties: an absent optional parameter is None, the others their default."""
        if MIN_F1_KEY not in exec_properties or exec_properties[MIN_F1_KEY] is None:
            raise ValueError(f"the QaEvaluator needs {MIN_F1_KEY} (the floor on F1, a fraction in [0, 1])")

        def get(key: str, default: Any) -> Any:
            value = exec_properties.get(key)
            return default if value is None else value

        return cls(min_f1=exec_properties[MIN_F1_KEY], max_f1_drop=exec_properties.get(MAX_F1_DROP_KEY),
                   eval_split=get(EVAL_SPLIT_KEY, DEFAULT_EVAL_SPLIT), language=get(LANGUAGE_KEY, DEFAULT_LANGUAGE),
                   batch_size=get(BATCH_SIZE_KEY, DEFAULT_BATCH_SIZE),
                   max_questions=exec_properties.get(MAX_QUESTIONS_KEY))


class QaEvaluatorSpec(ComponentSpec):
    """Examples and a QA model (and the last blessed one) in; a ModelEvaluation and a ModelBlessing out."""

    PARAMETERS = {
        MIN_F1_KEY: ExecutionParameter(type=float),
        # Optional: None means no comparison with the baseline, and TFX leaves a None parameter out.
        MAX_F1_DROP_KEY: ExecutionParameter(type=float, optional=True),
        EVAL_SPLIT_KEY: ExecutionParameter(type=str),
        LANGUAGE_KEY: ExecutionParameter(type=str),
        BATCH_SIZE_KEY: ExecutionParameter(type=int),
        MAX_QUESTIONS_KEY: ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        BASELINE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }
    TYPE_ANNOTATION = Evaluate  # what ML Metadata records of the execution, as for TFX's Evaluator
