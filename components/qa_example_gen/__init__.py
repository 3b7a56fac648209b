"""QaExampleGen: SQuAD-format JSON (SQuAD v1.1 / v2.0, CMRC 2018, DRCD) -> one tf.Example per question, a TFX
FileBasedExampleGen (issue 15, question answering).

```
from components.qa_example_gen import QaExampleGen, QaOptions
example_gen = QaExampleGen(input_base=data_dir, options=QaOptions(eval_fraction=0.2))
```

The features are `text_contract.features.QA_RAW_FEATURES`. Like TextExampleGen it never fails on a bad entry:
questions with missing or mistyped fields, an empty context or question, no valid answer or a duplicate id
are skipped, and answers whose answer_start does not point at their text are dropped; all are counted (Beam
counters in the namespace "QaExampleGen", and `qa_example_gen_summary.json` at the root of the Examples
artifact: `read_summary(examples.uri)`). A file that is not JSON fails the run. One input is split into
train and eval by article (`article_split(title, eval_fraction)` gives the split of a title without TFX).
Modules: `spec` (`QaOptions`, the custom_config, and the split's output config), `parsing` (JSON ->
questions, the split rule), `beam_pipeline` (the PTransform and DoFns), `summary` (the run summary),
`executor` (the TFX glue) and `component`.
"""

__all__ = ["METRICS_NAMESPACE", "SUMMARY_FILE", "QaExampleGen", "QaOptions", "article_split", "parse_squad",
           "read_summary"]


def __getattr__(name):
    # Lazy: QaOptions, the parser and the split rule need neither TFX's component machinery nor TensorFlow.
    if name == "QaOptions":
        from components.qa_example_gen.spec import QaOptions

        return QaOptions
    if name in ("article_split", "parse_squad"):
        from components.qa_example_gen import parsing

        return getattr(parsing, name)
    if name == "QaExampleGen":
        from components.qa_example_gen.component import QaExampleGen

        return QaExampleGen
    if name == "METRICS_NAMESPACE":
        from components.qa_example_gen import beam_pipeline

        return beam_pipeline.METRICS_NAMESPACE
    if name in ("SUMMARY_FILE", "read_summary"):
        from components.qa_example_gen import summary

        return getattr(summary, name)
    raise AttributeError(name)
