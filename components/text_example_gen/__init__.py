"""TextExampleGen: delimited text files (CSV, TSV) -> tf.Examples, a TFX FileBasedExampleGen.

```
from components.text_example_gen import TextExampleGen, TextOptions
example_gen = TextExampleGen(input_base=data_dir, options=TextOptions(delimiter="\\t", quoting="none"))
```

Unlike CsvExampleGen it never fails on a bad row: rows with the wrong number of fields, invalid UTF-8 or an
unparseable typed value are skipped and counted (Beam counters in the namespace "TextExampleGen", and
`text_example_gen_summary.json` at the root of the Examples artifact: `read_summary(examples.uri)`).
Modules: `spec` (TFX's FileBasedExampleGen spec, reused, and `TextOptions`, the custom_config), `parsing`
(text -> records -> typed rows), `beam_pipeline` (the PTransform and DoFns), `summary` (the run summary),
`executor` (the TFX glue) and `component`.
"""

__all__ = ["METRICS_NAMESPACE", "SUMMARY_FILE", "TextExampleGen", "TextOptions", "read_summary"]


def __getattr__(name):
    # Lazy: TextOptions and the parser do not need TFX's component machinery or TensorFlow.
    if name == "TextOptions":
        from components.text_example_gen.spec import TextOptions

        return TextOptions
    if name == "TextExampleGen":
        from components.text_example_gen.component import TextExampleGen

        return TextExampleGen
    if name == "METRICS_NAMESPACE":
        from components.text_example_gen import beam_pipeline

        return beam_pipeline.METRICS_NAMESPACE
    if name in ("SUMMARY_FILE", "read_summary"):
        from components.text_example_gen import summary

        return getattr(summary, name)
    raise AttributeError(name)
