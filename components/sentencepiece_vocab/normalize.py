"""The text normalization the vocabulary is trained on, as a pure Python function.

`normalize(text, lower_case)`:
  1. removes U+0000 (NUL) and U+FEFF (byte order mark / zero-width no-break space);
  2. applies Unicode NFKC;
  3. lower-cases (`str.lower`) when asked;
  4. turns every run of whitespace (the characters for which `str.isspace()` is true) into one space
     and strips spaces at both ends.

The Transform side (`trainer/preprocessing.py`, `normalize_text`) does the same in TensorFlow with
tf_text.normalize_utf8 (ICU) and tf.strings.lower; the tests check both agree on every code point and
on real sentences. The SentencePiece model is trained with the "identity" normalization rule, so the
tokenizer adds nothing on top: detokenize(tokenize(normalize(x))) == normalize(x) for text without
unknown pieces.

Two differences between the two Unicode libraries are absorbed here:
- Python 3.10's unicodedata (Unicode 13.0) maps eleven characters under NFKC that the ICU inside
  tensorflow-text leaves unchanged (U+AB69 and the segmented digits U+1FBF0..U+1FBF9); they are kept
  unchanged here too.
- tf.strings.lower stops at a NUL byte, hence step 1.
"""

import re
import unicodedata

from trainer import data_contract

# Removed before anything else, and the whitespace that collapses (see the module docstring): defined once
# in the data contract, which the in-graph Transform (trainer/preprocessing.py) uses too.
REMOVED_CODEPOINTS = data_contract.REMOVED_CODEPOINTS
WHITESPACE_CODEPOINTS = data_contract.WHITESPACE_CODEPOINTS

# Characters Python's NFKC maps but tensorflow-text's ICU leaves as they are.
ICU_NFKC_INERT_CODEPOINTS = (0xAB69,) + tuple(range(0x1FBF0, 0x1FBFA))

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
