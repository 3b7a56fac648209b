"""The text normalization of albert-tfx, in Python: what the vocabulary is trained on and what Beam steps apply.

`normalize(text, lower_case)`:
  1. removes U+0000 (NUL) and U+FEFF (byte order mark / zero-width no-break space);
  2. applies Unicode NFKC;
  3. lower-cases (`str.lower`) when asked;
  4. turns every run of whitespace (the characters for which `str.isspace()` is true) into one space
     and strips spaces at both ends.

Its TensorFlow twin is `text_contract.transform.normalize_text` (tf_text.normalize_utf8, which is ICU, and
tf.strings.lower), built from the code-point lists below; tests/text_contract/test_normalization.py checks
that both agree on every code point and on real sentences. SentencePiece models are trained with the
"identity" normalization rule (`sentencepiece_training`), so the tokenizer adds nothing on top:
detokenize(tokenize(normalize(x))) == normalize(x) for text without unknown pieces.

Two differences between the two Unicode libraries are absorbed here:
- Python 3.10's unicodedata (Unicode 13.0) maps eleven characters under NFKC that the ICU inside
  tensorflow-text leaves unchanged (U+AB69 and the segmented digits U+1FBF0..U+1FBF9); they are kept
  unchanged here too.
- tf.strings.lower stops at a NUL byte, hence step 1.
"""

import re
import unicodedata
from typing import Sequence

# Removed first (see the module docstring).
REMOVED_CODEPOINTS = (0x0000, 0xFEFF)
# Every whitespace run becomes one space: exactly the characters for which str.isspace() is true on
# Python 3.10 (checked by the tests).
WHITESPACE_CODEPOINTS = (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)
# Characters Python's NFKC maps but tensorflow-text's ICU leaves as they are.
ICU_NFKC_INERT_CODEPOINTS = (0xAB69,) + tuple(range(0x1FBF0, 0x1FBFA))


def re2_class(codepoints: Sequence[int]) -> str:
    """An RE2 character class (tf.strings.regex_replace's syntax) matching exactly `codepoints`."""
    return "[" + "".join(f"\\x{{{c:X}}}" for c in codepoints) + "]"


_REMOVED = {cp: None for cp in REMOVED_CODEPOINTS}
_WHITESPACE_RUN = re.compile("[" + "".join(re.escape(chr(c)) for c in WHITESPACE_CODEPOINTS) + "]+")
_ICU_INERT = re.compile("([" + "".join(re.escape(chr(c)) for c in ICU_NFKC_INERT_CODEPOINTS) + "])")


def _nfkc(text: str) -> str:
    if not _ICU_INERT.search(text):
        return unicodedata.normalize("NFKC", text)
    # The inert characters are starters without decompositions for ICU: normalize around them.
    parts = _ICU_INERT.split(text)
    return "".join(part if i % 2 else unicodedata.normalize("NFKC", part) for i, part in enumerate(parts))


def normalize(text: str, lower_case: bool = False) -> str:
    """NFKC (+ lower case), whitespace runs to one space, stripped. See the module docstring."""
    text = _nfkc(text.translate(_REMOVED))
    if lower_case:
        text = text.lower()
    return _WHITESPACE_RUN.sub(" ", text).strip(" ")


def describe(lower_case: bool) -> str:
    """One line naming the normalization, for run summaries."""
    return ("NFKC" + (" + lower case" if lower_case else "")
            + ", whitespace runs to one space (text_contract/normalization.py)")
