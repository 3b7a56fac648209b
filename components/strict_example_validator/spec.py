"""StrictExampleValidator's spec: TFX's ExampleValidatorSpec and two parameters of ours, and the keys the executor reads.

The same inputs (`statistics`, `schema`), output (`anomalies`) and parameters (`exclude_splits`,
`custom_validation_config`) as TFX's ExampleValidator, plus `label_feature` (the classifier's label column:
its checks in `labels`, skipped when empty) and `min_eval_examples` (default `labels.MIN_EVAL_EXAMPLES`). What
is ours: any anomaly, in any split validated, fails the run (`report.check`), and so does a label column that
cannot train or judge a classifier (`labels.check_labels`).
"""

from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter

STATISTICS_KEY = standard_component_specs.STATISTICS_KEY
SCHEMA_KEY = standard_component_specs.SCHEMA_KEY
ANOMALIES_KEY = standard_component_specs.ANOMALIES_KEY
EXCLUDE_SPLITS_KEY = standard_component_specs.EXCLUDE_SPLITS_KEY
LABEL_FEATURE_KEY = "label_feature"
MIN_EVAL_EXAMPLES_KEY = "min_eval_examples"
# The anomalies artifact's custom properties: {split: {label: count}} (JSON) and the label warnings (one line).
LABEL_COUNTS_PROPERTY = "label_counts"
LABEL_WARNINGS_PROPERTY = "label_warnings"


class StrictExampleValidatorSpec(standard_component_specs.ExampleValidatorSpec):
    """ExampleValidatorSpec + `label_feature` and `min_eval_examples`."""

    PARAMETERS = {
        **standard_component_specs.ExampleValidatorSpec.PARAMETERS,
        LABEL_FEATURE_KEY: ExecutionParameter(type=str, optional=True),
        MIN_EVAL_EXAMPLES_KEY: ExecutionParameter(type=int, optional=True),
    }


SPEC_CLASS = StrictExampleValidatorSpec
