"""ClassMetricsEvaluator: TFX's Evaluator whose per-class metrics cover every class of the candidate model.

The number of classes is known only once the Transform has seen the data (a new span may bring a new
label), so the per-class MetricsSpecs are filled in at run time. Imports are lazy so Beam workers start fast.
"""


def __getattr__(name):
    if name == "ClassMetricsEvaluator":
        from components.class_metrics_evaluator.component import ClassMetricsEvaluator

        return ClassMetricsEvaluator
    raise AttributeError(name)
