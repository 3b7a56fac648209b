"""StrictExampleValidator's spec: TFX's ExampleValidatorSpec, reused unchanged, and the keys the executor reads.

The same inputs (`statistics`, `schema`), output (`anomalies`) and parameters (`exclude_splits`,
`custom_validation_config`) as TFX's ExampleValidator. What is ours is one rule: any anomaly, in any split
validated, fails the run (`report.check`).
"""

from tfx.types import standard_component_specs

SPEC_CLASS = standard_component_specs.ExampleValidatorSpec
STATISTICS_KEY = standard_component_specs.STATISTICS_KEY
SCHEMA_KEY = standard_component_specs.SCHEMA_KEY
ANOMALIES_KEY = standard_component_specs.ANOMALIES_KEY
EXCLUDE_SPLITS_KEY = standard_component_specs.EXCLUDE_SPLITS_KEY
