"""SentencePieceVocab: a custom TFX Beam component that trains ALBERT's SentencePiece vocabulary.

Input: `examples` (Examples from ExampleGen) and the names of their text features. Output:
`sentencepiece_model`, a `SentencePieceModel` artifact holding `spm.model`, `spm.vocab` and `summary.json`
(use `model_path(artifact)` to find the model). The text is normalized by
`components.sentencepiece_vocab.normalize.normalize`, which the Transform module (trainer/preprocessing.py)
mirrors in TensorFlow.
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
    # Lazy: Beam workers import `normalize` from this package and must not pay for TFX and TensorFlow
    # (several seconds per worker at start-up).
    if name == "SentencePieceVocab":
        from components.sentencepiece_vocab.component import SentencePieceVocab

        return SentencePieceVocab
    if name in __all__:
        from components import artifacts

        return getattr(artifacts, name)
    raise AttributeError(name)
