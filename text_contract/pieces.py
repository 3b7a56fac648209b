"""ALBERT's special pieces and their ids, and the check that a SentencePiece model has them where we need them.

As in the released ALBERT vocabularies (30k-clean.model): <pad>=0, <unk>=1, then the control symbols
[CLS]=2, [SEP]=3, [MASK]=4, and no BOS/EOS. Every vocabulary we train, reuse or import must agree, since
the Transform packs [CLS]/[SEP] by id and the pretraining data masks with [MASK] by id.
"""

from typing import Dict

PAD_PIECE = "<pad>"
UNK_PIECE = "<unk>"
CLS_PIECE = "[CLS]"
SEP_PIECE = "[SEP]"
MASK_PIECE = "[MASK]"
PAD_ID = 0
UNK_ID = 1
CLS_ID = 2
SEP_ID = 3
MASK_ID = 4
CONTROL_PIECES = (CLS_PIECE, SEP_PIECE, MASK_PIECE)  # ids 2, 3, 4
SPECIAL_PIECES: Dict[int, str] = {PAD_ID: PAD_PIECE, UNK_ID: UNK_PIECE, CLS_ID: CLS_PIECE, SEP_ID: SEP_PIECE,
                                  MASK_ID: MASK_PIECE}
# The first id of a regular piece: ids below it are the special pieces (masking never draws them at random).
FIRST_REGULAR_ID = max(SPECIAL_PIECES) + 1
# Marks the start of a word in SentencePiece pieces (whole-word n-gram masking splits on it).
WORD_BOUNDARY = "\u2581"


class VocabularyError(ValueError):
    """A SentencePiece model cannot serve as an albert-tfx vocabulary; the message says why."""


def load_processor(model_proto: bytes, source: str = "the SentencePiece model"):
    """A `sentencepiece.SentencePieceProcessor` over serialized model bytes; VocabularyError naming `source` if
    they are not one."""
    import sentencepiece

    try:
        return sentencepiece.SentencePieceProcessor(model_proto=model_proto)
    except (RuntimeError, OSError, TypeError) as error:
        raise VocabularyError(f"{source}: not a SentencePiece model ({error})") from None


def check_special_pieces(model, source: str = "the SentencePiece model") -> int:
    """Raises VocabularyError naming `source` unless the special pieces sit at their ids; returns the piece count.

    `model`: serialized model bytes, or a loaded `SentencePieceProcessor`.
    """
    processor = model if hasattr(model, "id_to_piece") else load_processor(model, source)
    size = processor.get_piece_size()
    found = {i: processor.id_to_piece(i) if i < size else None for i in SPECIAL_PIECES}
    if found != SPECIAL_PIECES:
        raise VocabularyError(f"{source}: special pieces at the wrong ids: expected {SPECIAL_PIECES}, got {found}")
    return size


def piece_count(model_proto: bytes) -> int:
    """How many pieces a serialized SentencePiece model has."""
    return load_processor(model_proto).get_piece_size()
