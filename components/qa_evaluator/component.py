"""QaEvaluator: exact match and F1 of a question-answering model on the eval split, and the blessing gate on F1."""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from components.qa_evaluator import executor, spec
from components.qa_evaluator.spec import QaEvaluatorOptions


class QaEvaluator(base_component.BaseComponent):
    """Scores a QA export's answers to the eval questions and blesses it on F1, as TFX's Evaluator blesses.

    ```
    evaluator = QaEvaluator(examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
                            baseline_model=model_resolver.outputs["model"], min_f1=0.6, max_f1_drop=0.01)
    evaluator.outputs["evaluation"]  # ModelEvaluation: qa_metrics.json (gate.read_report), exact_match/f1 properties
    evaluator.outputs["blessing"]  # ModelBlessing: blessed 1/0 and BLESSED/NOT_BLESSED, as TFX's Evaluator writes
    ```

    Blessed iff F1 >= `min_f1` and, with a baseline and a `max_f1_drop`, F1 >= the baseline's F1 - `max_f1_drop`
    (fractions in [0, 1]; a value on a bound passes). The parameters are `spec.QaEvaluatorOptions`'s; bad values
    raise a ValueError naming the parameter here, when the pipeline is built.
    """

    SPEC_CLASS = spec.QaEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        min_f1: float,
        baseline_model: Optional[types.BaseChannel] = None,
        max_f1_drop: Optional[float] = spec.DEFAULT_MAX_F1_DROP,
        eval_split: str = spec.DEFAULT_EVAL_SPLIT,
        language: str = spec.DEFAULT_LANGUAGE,
        batch_size: int = spec.DEFAULT_BATCH_SIZE,
        max_questions: Optional[int] = None,
    ):
        options = QaEvaluatorOptions(min_f1=min_f1, max_f1_drop=max_f1_drop, eval_split=eval_split,
                                     language=language, batch_size=batch_size, max_questions=max_questions)
        self.qa_options = options
        super().__init__(spec=spec.QaEvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing),
            **options.to_exec_properties()))
