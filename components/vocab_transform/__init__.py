"""VocabTransform: TFX's Transform with the SentencePieceVocab artifact as an input (its path reaches
`preprocessing_fn` through custom_config).

Modules: `spec` (TFX's TransformSpec plus the vocabulary input), `vocabulary` (the path into custom_config,
the case check, the copy into the transform graph), `executor` (the TFX glue) and `component`. Imports are
lazy so Beam workers start fast.
"""


def __getattr__(name):
    if name == "VocabTransform":
        from components.vocab_transform.component import VocabTransform

        return VocabTransform
    raise AttributeError(name)
