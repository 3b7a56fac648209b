"""ClassMetricsEvaluator: TFX's Evaluator whose per-class metrics cover every class of the candidate model, with
a blessing gate that knows chance.

The number of classes is known only once the Transform has seen the data (a new span may bring a new
label), so the per-class MetricsSpecs are filled in at run time. Macro-F1, Matthews correlation and the
majority-class predictor of the eval split are TFMA metrics of their own (`tfma_metrics`, over `chance`),
so TFMA's thresholds can refuse a model that does not beat always answering the most frequent label; the
executor then writes the gate's report (`gate`). Imports are lazy so Beam workers start fast.
"""


def __getattr__(name):
    if name == "ClassMetricsEvaluator":
        from components.class_metrics_evaluator.component import ClassMetricsEvaluator

        return ClassMetricsEvaluator
    raise AttributeError(name)
