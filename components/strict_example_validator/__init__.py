"""StrictExampleValidator: TFX's ExampleValidator that stops the run when it finds anomalies.

Modules: `spec` (TFX's ExampleValidatorSpec, reused, and its keys), `report` (the anomalies read back and
reported, `DataAnomaliesError`), `executor` (the TFX glue) and `component`.
"""


def __getattr__(name):
    if name == "StrictExampleValidator":
        from components.strict_example_validator.component import StrictExampleValidator

        return StrictExampleValidator
    if name == "DataAnomaliesError":
        from components.strict_example_validator.report import DataAnomaliesError

        return DataAnomaliesError
    raise AttributeError(name)
