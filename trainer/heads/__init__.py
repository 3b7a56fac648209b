"""Task heads that sit on `AlbertEncoder` outputs: masked LM, sentence-order prediction, classification."""

from trainer.heads.classification import ClassificationHead
from trainer.heads.masked_lm import AlbertMaskedLMHead
from trainer.heads.sentence_order import SentenceOrderHead

__all__ = ["AlbertMaskedLMHead", "ClassificationHead", "SentenceOrderHead"]
