"""SentencePieceVocab: a custom TFX Beam component that trains ALBERT's SentencePiece vocabulary.

Input: `examples` (Examples from ExampleGen) and the names of their text features. Output:
`sentencepiece_model`, a `SentencePieceModel` artifact holding `spm.model`, `spm.vocab` and `summary.json`
(use `model_path(artifact)` to find the model). The text is normalized by
`components.sentencepiece_vocab.normalize.normalize`, which the Transform module (trainer/preprocessing.py)
mirrors in TensorFlow.
"""

from components.artifacts import (
    MODEL_FILE,
    SUMMARY_FILE,
    VOCAB_FILE,
    SentencePieceModel,
    model_path,
    read_summary,
    summary_path,
    vocab_path,
)
from components.sentencepiece_vocab.component import SentencePieceVocab

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
