"""StrictExampleValidator: ExampleValidator whose anomalies fail the run (see executor.py for why)."""

from tfx.components import ExampleValidator
from tfx.dsl.components.base import executor_spec

from components.strict_example_validator import executor, spec


class StrictExampleValidator(ExampleValidator):
    """`ExampleValidator(statistics=..., schema=...)` with the same arguments; fails on any anomaly."""

    SPEC_CLASS = spec.SPEC_CLASS
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
