"""ClassMetricsEvaluator's spec: TFX's EvaluatorSpec (the same inputs, outputs and parameters), and its one rule.

The rule: in the `eval_config` parameter, a MetricsSpec whose `binarize` is present but lists no class ids
(`tfma.BinarizationOptions()`) is filled in at run time with every class id of the candidate model, 0 to
the number of its labels less one (`per_class.fill_class_ids`). Any other MetricsSpec is passed on as it is.
"""

from tfx.types import standard_component_specs

SPEC_CLASS = standard_component_specs.EvaluatorSpec
EVAL_CONFIG_KEY = standard_component_specs.EVAL_CONFIG_KEY
MODEL_KEY = standard_component_specs.MODEL_KEY
