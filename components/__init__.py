"""Custom TFX components: Beam SentencePiece work (vocabulary, pretraining data), tolerant CSV/TSV and
SQuAD-format JSON ExampleGens, a Transform that takes the vocabulary artifact, a validator that stops on
anomalies, an Evaluator whose per-class metrics cover every class of the model, a QA Evaluator (exact match
and F1 of the export's answers), and the serving Pusher.

Each component is a package of the same shape: `spec` (channel and parameter keys, defaults, validation, and
the ComponentSpec, or the TFX spec it reuses), `executor` (the TFX glue: read the artifacts and parameters,
call the logic, record artifact properties), `component` (the component class), and plain modules for the
logic and the Beam steps. The packages export lazily, so Beam workers do not import TFX. Components import
`text_contract` and the shared plain modules at this package's top (`artifacts`, `data_counts`, the ExampleGens'
common executor and options, `qa_scoring`, `qa_baseline`), never each other's packages, `trainer` or
`pipeline`; only `serving_pusher` imports `serving`, and `qa_evaluator` its contract (tests/test_project.py).
"""
