"""SentencePieceVocab: a custom TFX Beam component that trains ALBERT's SentencePiece vocabulary.

Input: `examples` (Examples from ExampleGen) and the names of their text features. Output:
`sentencepiece_model`, a `SentencePieceModel` artifact holding `spm.model`, `spm.vocab` and `summary.json`
(use `model_path(artifact)` to find the model). The text is normalized by
`text_contract.normalization.normalize`, which the Transform (`text_contract.transform`) mirrors in
TensorFlow, and the model is trained by `text_contract.sentencepiece_training.train_sentencepiece`.

Modules: `spec` (keys, defaults, `resolve_parameters`, the ComponentSpec), `beam_pipeline` (the Beam steps:
Examples -> normalized, distinct, sampled lines), `training` (train or reuse, summary, the artifact's files),
`executor` (the TFX glue) and `component`.
"""

__all__ = [
    "MODEL_FILE",
    "SUMMARY_FILE",
    "VOCAB_FILE",
    "SentencePieceModel",
    "SentencePieceVocab",
    "model_path",
    "read_summary",
    "summary_path",
    "vocab_path",
]


def __getattr__(name):
    # Lazy: Beam workers import `beam_pipeline` from this package and must not pay for TFX (several
    # seconds per worker at start-up).
    if name == "SentencePieceVocab":
        from components.sentencepiece_vocab.component import SentencePieceVocab

        return SentencePieceVocab
    if name in __all__:
        from components import artifacts

        return getattr(artifacts, name)
    raise AttributeError(name)
