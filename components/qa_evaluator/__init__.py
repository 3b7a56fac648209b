"""QaEvaluator: exact match and F1 of a question-answering export on the eval split, and a blessing gate on F1
(a floor, and a maximum drop against the last blessed model) written as TFX's Evaluator writes its blessing.

```
from components.qa_evaluator import QaEvaluator
evaluator = QaEvaluator(examples=qa_example_gen.outputs["examples"], model=trainer.outputs["model"],
                        baseline_model=resolver.outputs["model"], min_f1=0.6, max_f1_drop=0.01)
```

The run summary: `read_report(evaluation_uri)` (None for an evaluation without one) and `describe(report)`, one
line; both plain Python (`gate`). Modules: `spec` (keys, `QaEvaluatorOptions`, the ComponentSpec), `questions`
(the eval split's tf.Examples), `answering` (the export's `qa` signature, and scoring with
`components.qa_scoring`), `gate` (the decision and its report), `executor` (the TFX glue) and `component`.
"""

__all__ = ["REPORT_FILE", "GateReport", "ModelScores", "QaEvaluator", "QaEvaluatorOptions", "describe", "read_report"]


def __getattr__(name):
    # Lazy: the report's readers need neither TFX nor TensorFlow.
    if name == "QaEvaluator":
        from components.qa_evaluator.component import QaEvaluator

        return QaEvaluator
    if name == "QaEvaluatorOptions":
        from components.qa_evaluator.spec import QaEvaluatorOptions

        return QaEvaluatorOptions
    if name in __all__:
        from components.qa_evaluator import gate

        return getattr(gate, name)
    raise AttributeError(name)
