"""StrictExampleValidator: TFX's ExampleValidator that stops the run when it finds anomalies."""


def __getattr__(name):
    if name == "StrictExampleValidator":
        from components.strict_example_validator.component import StrictExampleValidator

        return StrictExampleValidator
    raise AttributeError(name)
