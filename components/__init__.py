"""Custom TFX components: Beam SentencePiece work (vocabulary, pretraining data), tolerant CSV/TSV ExampleGen,
a Transform that takes the vocabulary artifact, a validator that stops on anomalies, an Evaluator whose
per-class metrics cover every class of the model, and the serving Pusher.

Each component is a package of the same shape: `spec` (channel and parameter keys, defaults, validation, and
the ComponentSpec, or the TFX spec it reuses), `executor` (the TFX glue: read the artifacts and parameters,
call the logic, record artifact properties), `component` (the component class), and plain modules for the
logic and the Beam steps. The packages export lazily, so Beam workers do not import TFX. Components import
`text_contract`, `components.artifacts` and `components.data_counts` (rows read, kept, skipped, truncated, and
the cap on skipped rows), never each other, `trainer` or `pipeline`; only `serving_pusher` imports `serving`.
"""
