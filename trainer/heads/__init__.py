"""Task heads that sit on `AlbertEncoder` outputs: masked LM, sentence-order prediction, classification, and
answer spans (extractive question answering)."""

from trainer.heads.classification import ClassificationHead
from trainer.heads.masked_lm import AlbertMaskedLMHead
from trainer.heads.sentence_order import SentenceOrderHead
from trainer.heads.span import SpanHead

__all__ = ["AlbertMaskedLMHead", "ClassificationHead", "SentenceOrderHead", "SpanHead"]
