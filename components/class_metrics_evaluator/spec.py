"""ClassMetricsEvaluator's spec: TFX's EvaluatorSpec (the same inputs, outputs and parameters), and its rules.

The per-class rule: in the `eval_config` parameter, a MetricsSpec whose `binarize` is present but lists no
class ids (`tfma.BinarizationOptions()`) is filled in at run time with every class id of the candidate
model, 0 to the number of its labels less one (`per_class.fill_class_ids`). Any other MetricsSpec is passed
on as it is.

The gate's report: when `eval_config` holds a `tfma_metrics.GainOverMajorityClass` (the margin over the
majority-class predictor; pipeline/evaluation.py puts one there), the executor writes `gate.REPORT_FILE`
into the evaluation artifact and sets the custom properties below.
"""

from tfx.types import standard_component_specs

SPEC_CLASS = standard_component_specs.EvaluatorSpec
EVAL_CONFIG_KEY = standard_component_specs.EVAL_CONFIG_KEY
MODEL_KEY = standard_component_specs.MODEL_KEY
EVALUATION_KEY = standard_component_specs.EVALUATION_KEY
BLESSING_KEY = standard_component_specs.BLESSING_KEY

# Custom properties. The evaluation artifact: the blessing metric, the majority class's label and its
# scores (`chance.majority_key(metric)`, floats); the blessing artifact: why not blessed ("" if it was).
BLESSING_METRIC_PROPERTY = "blessing_metric"
MAJORITY_CLASS_PROPERTY = "majority_class"
GATE_REASON_PROPERTY = "not_blessed_because"
