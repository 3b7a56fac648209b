"""The vocabularies albert-tfx tokenizes with, how a vocabulary file's bytes are read, and the "albert" text
preprocessing in Python. Pure Python (no TensorFlow), so config checks, Beam workers and clients start light.

A vocabulary file is one of two kinds (`detect_kind`, by content): a SentencePiece model (ours, or a released
ALBERT checkpoint's `30k-clean.model` / Hugging Face's `spiece.model`) or a BERT-style WordPiece `vocab.txt`
(the Chinese ALBERTs: google's and brightmart's albert_zh). How text becomes ids with it is the tokenization
(`TOKENIZATIONS`), which the Transform graph (`text_contract.transform.make_tokenizer`) and this module's
Python twin implement:

- "sentencepiece" (the default): a vocabulary this pipeline trained: our `normalization.normalize`, then the
  model (trained with the identity rule), special pieces at `pieces`' fixed ids;
- "albert": an imported ALBERT SentencePiece model with the ORIGINAL ALBERT preprocessing (`albert_preprocess`)
  and its digit-comma split (`albert_encode`), as Hugging Face's `AlbertTokenizer(do_lower_case=lower_case,
  keep_accents=not lower_case)`; the model's own normalizer (nmt_nfkc in ALBERT's) does the rest;
- "wordpiece": a vocab.txt with BERT's basic tokenization and WordPiece, as Hugging Face's
  `BertTokenizer(do_lower_case=lower_case)`.

Both imported styles are checked id for id against Hugging Face's slow tokenizers on the shared dev sets
(tests/fixtures/vocabularies). One known difference: Hugging Face first splits the literal texts of the special
tokens ("[CLS]", "<unk>", ...) out of the text and keeps them whole; here, as in the original ALBERT and BERT
code, they are tokenized as text.
"""

import dataclasses
import functools
import unicodedata
from typing import Dict, List, Mapping, Tuple

from text_contract import pieces

SENTENCEPIECE = "sentencepiece"
ALBERT = "albert"
WORDPIECE = "wordpiece"
# How text becomes ids (TransformOptions.tokenization).
TOKENIZATIONS = (SENTENCEPIECE, ALBERT, WORDPIECE)
DEFAULT_TOKENIZATION = SENTENCEPIECE
# What a vocabulary file is (`detect_kind`); both SentencePiece styles read a SentencePiece model.
KINDS = (SENTENCEPIECE, WORDPIECE)
KIND_OF_TOKENIZATION: Mapping[str, str] = {SENTENCEPIECE: SENTENCEPIECE, ALBERT: SENTENCEPIECE, WORDPIECE: WORDPIECE}

# One error type for every unusable vocabulary, whatever its kind.
VocabularyError = pieces.VocabularyError

# BERT's vocab.txt special tokens, and its WordPiece settings as Hugging Face's BertTokenizer has them.
WORDPIECE_PAD = "[PAD]"
WORDPIECE_UNK = "[UNK]"
WORDPIECE_CLS = "[CLS]"
WORDPIECE_SEP = "[SEP]"
WORDPIECE_MASK = "[MASK]"
WORDPIECE_SUFFIX = "##"
# Longer words (in characters) become [UNK] whole (HF's max_input_chars_per_word).
WORDPIECE_MAX_CHARS_PER_WORD = 100
# ALBERT's digit-comma rule splits this off a piece ending in a digit and it.
ALBERT_COMMA = ","


@dataclasses.dataclass(frozen=True)
class SpecialIds:
    """The ids the Transform packs and pads with and the pretraining data masks with."""

    pad_id: int
    unk_id: int
    cls_id: int
    sep_id: int
    mask_id: int


# Ours and ALBERT's SentencePiece models: <pad>=0, <unk>=1, [CLS]=2, [SEP]=3, [MASK]=4.
DEFAULT_SPECIAL_IDS = SpecialIds(pieces.PAD_ID, pieces.UNK_ID, pieces.CLS_ID, pieces.SEP_ID, pieces.MASK_ID)
_SENTENCEPIECE_SPECIALS = {"pad_id": pieces.PAD_PIECE, "unk_id": pieces.UNK_PIECE, "cls_id": pieces.CLS_PIECE,
                           "sep_id": pieces.SEP_PIECE, "mask_id": pieces.MASK_PIECE}
_WORDPIECE_SPECIALS = {"pad_id": WORDPIECE_PAD, "unk_id": WORDPIECE_UNK, "cls_id": WORDPIECE_CLS,
                       "sep_id": WORDPIECE_SEP, "mask_id": WORDPIECE_MASK}


@dataclasses.dataclass(frozen=True)
class VocabularyInfo:
    """`kind`: one of KINDS. `size`: pieces or lines (the embedding's rows). `special_ids`: where its specials are."""

    kind: str
    size: int
    special_ids: SpecialIds


def wordpiece_tokens(data: bytes, source: str = "the vocabulary") -> List[str]:
    """The tokens of a vocab.txt, one a line, as Hugging Face reads them (universal newlines; a final newline
    ends the last line); VocabularyError naming `source` if it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VocabularyError(f"{source}: a WordPiece vocab.txt must be UTF-8 text ({error})") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def wordpiece_ids(tokens: List[str]) -> Dict[str, int]:
    """token -> id (its line); a token on several lines gets its last (Hugging Face's vocabulary dict)."""
    return {token: index for index, token in enumerate(tokens)}


def detect_kind(data: bytes, source: str = "the vocabulary") -> str:
    """"wordpiece" for UTF-8 text with [CLS] and [SEP] lines, "sentencepiece" for a SentencePiece ModelProto;
    VocabularyError naming `source` for anything else."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        tokens = set(wordpiece_tokens(data, source))
        if WORDPIECE_CLS in tokens and WORDPIECE_SEP in tokens:
            return WORDPIECE
    try:
        # Empty bytes load as a model without pieces.
        loaded = bool(data) and pieces.load_processor(data, source).get_piece_size() > 0
    except VocabularyError:
        loaded = False
    if not loaded:
        what = ("UTF-8 text without [CLS] and [SEP] lines, so not a WordPiece vocab.txt" if text is not None
                else "not UTF-8 text")
        raise VocabularyError(f"{source}: neither a SentencePiece model nor a WordPiece vocab.txt ({len(data)} "
                              f"bytes, {what}, and SentencePiece cannot load it)")
    return SENTENCEPIECE


def _sentencepiece_ids(processor, source: str) -> Dict[str, int]:
    found, missing = {}, []
    for field, piece in _SENTENCEPIECE_SPECIALS.items():
        index = processor.piece_to_id(piece)
        if processor.id_to_piece(index) == piece:  # piece_to_id answers <unk>'s id for a missing piece
            found[field] = index
        else:
            missing.append(piece)
    if missing:
        raise VocabularyError(f"{source}: the SentencePiece model lacks the special pieces {missing} "
                              f"(an ALBERT vocabulary has {list(_SENTENCEPIECE_SPECIALS.values())})")
    return found


def read_vocabulary(data: bytes, source: str) -> VocabularyInfo:
    """Kind, size and special ids of a vocabulary file's bytes; VocabularyError naming `source` if unusable.

    SentencePiece: the ids of the pieces <pad>, <unk>, [CLS], [SEP], [MASK] (wherever they are; the
    "sentencepiece" tokenization further requires them at `pieces`' ids). WordPiece: the lines [PAD], [UNK],
    [CLS], [SEP], [MASK].
    """
    kind = detect_kind(data, source)
    if kind == SENTENCEPIECE:
        processor = pieces.load_processor(data, source)
        return VocabularyInfo(kind, processor.get_piece_size(), SpecialIds(**_sentencepiece_ids(processor, source)))
    tokens = wordpiece_tokens(data, source)
    ids = wordpiece_ids(tokens)
    missing = [token for token in _WORDPIECE_SPECIALS.values() if token not in ids]
    if missing:
        raise VocabularyError(f"{source}: the WordPiece vocab.txt has no line {' or '.join(missing)} "
                              f"(a BERT vocabulary has {list(_WORDPIECE_SPECIALS.values())})")
    return VocabularyInfo(kind, len(tokens), SpecialIds(**{f: ids[t] for f, t in _WORDPIECE_SPECIALS.items()}))


def imported_tokenization(kind: str) -> str:
    """The tokenization of an imported (released checkpoint's) vocabulary of this kind: "albert" or "wordpiece"."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return ALBERT if kind == SENTENCEPIECE else WORDPIECE


def check_tokenization(tokenization: str, kind: str, source: str) -> None:
    """VocabularyError naming `source` unless a vocabulary of `kind` can be tokenized with `tokenization`."""
    if tokenization not in TOKENIZATIONS:
        raise ValueError(f"tokenization must be one of {TOKENIZATIONS}, got {tokenization!r}")
    if KIND_OF_TOKENIZATION[tokenization] != kind:
        raise VocabularyError(f"{source}: tokenization {tokenization!r} needs a {KIND_OF_TOKENIZATION[tokenization]} "
                              f"vocabulary, this one is {kind}")


# --- "albert": the original ALBERT preprocessing ---------------------------------------------------------

def albert_preprocess(text: str, lower_case: bool) -> str:
    """The text Hugging Face's AlbertTokenizer(do_lower_case=lower_case, keep_accents=not lower_case) hands
    SentencePiece: (lower case,) whitespace runs to one space and stripped, `` and '' to ", (NFKD without the
    combining characters, lower case). The first lower-casing is the one HF's `tokenize` does before
    `preprocess_text`; the graph twin (`transform`) does the same steps in the same order."""
    if lower_case:
        text = text.lower()
    text = " ".join(text.strip().split())
    text = text.replace("``", '"').replace("''", '"')
    if lower_case:
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.lower()
    return text


def _is_digit_comma(piece: str) -> bool:
    return len(piece) > 1 and piece[-1] == ALBERT_COMMA and piece[-2].isdigit()


def albert_pieces(processor, text: str, lower_case: bool) -> List[str]:
    """ALBERT's encode_pieces: SentencePiece pieces of the preprocessed text, a piece like "▁1990," re-encoded
    without the comma and word boundaries (its leading "▁" dropped unless the piece had one) and "," after it."""
    out: List[str] = []
    boundary = pieces.WORD_BOUNDARY
    for piece in processor.encode(albert_preprocess(text, lower_case), out_type=str):
        if not _is_digit_comma(piece):
            out.append(piece)
            continue
        sub = processor.encode(piece[:-1].replace(boundary, ""), out_type=str)
        if piece[0] != boundary and sub and sub[0][0] == boundary:
            sub = sub[1:] if len(sub[0]) == 1 else [sub[0][1:]] + sub[1:]
        out.extend(sub + [piece[-1]])
    return out


def albert_encode(processor, text: str, lower_case: bool) -> List[int]:
    """Ids of `text` with an ALBERT SentencePiece model (a `sentencepiece.SentencePieceProcessor`), as Hugging
    Face's AlbertTokenizer gives them (pieces missing from the model are <unk>)."""
    return [processor.piece_to_id(piece) for piece in albert_pieces(processor, text, lower_case)]


def _ranges(predicate) -> Tuple[Tuple[int, int], ...]:
    ranges: List[Tuple[int, int]] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or not predicate(chr(cp)):
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return tuple(ranges)


@functools.lru_cache(maxsize=None)
def digit_ranges() -> Tuple[Tuple[int, int], ...]:
    """Code-point ranges of the characters `str.isdigit` accepts (the digit of the digit-comma rule)."""
    return _ranges(str.isdigit)


@functools.lru_cache(maxsize=None)
def combining_ranges() -> Tuple[Tuple[int, int], ...]:
    """Code-point ranges of the characters with a combining class (`unicodedata.combining`), which the
    "albert" preprocessing drops after NFKD."""
    return _ranges(unicodedata.combining)
