"""A non-learned answerer for the QA benchmark: the context text right after the longest overlap with the
question (questions often repeat the words that sit just before their answer).

The rule, deterministic:
1. Overlap: the longest common substring of question and context, in characters for Chinese and in words
   (whitespace-separated) for English. Units compare case-folded and by their letters and digits only, so
   'ALBERT?' matches 'albert'; units with no letter or digit (punctuation, spaces) never match. Of equally
   long overlaps the one that starts first in the context wins. No overlap: the answer starts at the
   context's start.
2. Answer: the context from the end of the overlap, after skipping whitespace and punctuation, up to the
   next `STOP_PUNCTUATION` or `max_chars` characters (Chinese) / `max_words` words (English), whichever
   comes first. An ASCII '.' or ',' between two digits or ASCII letters ('1.5', '1,000', 'U.S') does not
   stop the answer. The answer is always a substring of the context, stripped of surrounding whitespace.
"""

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Dict, Hashable, Iterable, List, Tuple

from components.qa_scoring import resolve_language

DEFAULT_MAX_CHARS = 10  # Chinese: the median CMRC 2018 dev answer is 7 characters
DEFAULT_MAX_WORDS = 5  # English: SQuAD answers average about 3 words
STOP_PUNCTUATION = frozenset("。！？.!?；;，,")

_WORD = re.compile(r"\S+")


def _match_keys(units: List[str], side: str) -> List[Hashable]:
    """What a unit compares as: its case-folded letters and digits, or, with none, a key of its own (`side`
    and position) so punctuation and spaces never match anything."""
    keys: List[Hashable] = []
    for position, unit in enumerate(units):
        key = "".join(ch for ch in unit.casefold() if ch.isalnum())
        keys.append(key or (side, position))
    return keys


def _overlap_end(question_units: List[str], context_units: List[str]) -> int:
    """Index of the context unit right after the longest overlap; 0 when there is none."""
    # SequenceMatcher.find_longest_match returns the longest common block, the earliest in its first
    # sequence (the context) on ties; autojunk off, so frequent characters still count.
    matcher = SequenceMatcher(None, _match_keys(context_units, "context"), _match_keys(question_units, "question"),
                              autojunk=False)
    match = matcher.find_longest_match(0, len(context_units), 0, len(question_units))
    return match.a + match.size if match.size else 0


def _joins_word(ch: str) -> bool:
    return ch.isdigit() or (ch.isascii() and ch.isalpha())


def _is_stop(text: str, index: int) -> bool:
    if text[index] not in STOP_PUNCTUATION:
        return False
    # A decimal point, thousands separator or abbreviation dot; CJK characters are letters too, but '好.的'
    # is a sentence end, hence ASCII letters only.
    inside_word = (text[index] in ".," and 0 < index < len(text) - 1
                   and _joins_word(text[index - 1]) and _joins_word(text[index + 1]))
    return not inside_word


def _answer_from(context: str, start: int, zh: bool, max_chars: int, max_words: int) -> str:
    # The overlap often ends just before a clause's punctuation or an opening bracket; the answer follows it.
    while start < len(context) and (context[start].isspace() or unicodedata.category(context[start])[0] == "P"):
        start += 1
    end = start
    while end < len(context) and not _is_stop(context, end):
        end += 1
    answer = context[start:end]
    if zh:
        return answer[:max_chars].strip()
    words = list(_WORD.finditer(answer))
    return answer[:words[max_words - 1].end()] if len(words) > max_words else answer.strip()


def _check_length(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def answer_question(question: str, context: str, language: str = "auto", max_chars: int = DEFAULT_MAX_CHARS,
                    max_words: int = DEFAULT_MAX_WORDS) -> str:
    """The baseline's answer (see the module's rule). 'auto' reads Chinese when the question and context
    are mostly CJK (`qa_scoring.detect_language`)."""
    _check_length("max_chars", max_chars)
    _check_length("max_words", max_words)
    zh = resolve_language(language, [question, context]) == "zh"
    if zh:
        start = _overlap_end(list(question), list(context))
    else:
        context_words = list(_WORD.finditer(context))
        end_word = _overlap_end(_WORD.findall(question), [word.group() for word in context_words])
        start = context_words[end_word - 1].end() if end_word else 0
    return _answer_from(context, start, zh, max_chars, max_words)


def predict(examples: Iterable[Tuple[str, str, str]], language: str = "auto", max_chars: int = DEFAULT_MAX_CHARS,
            max_words: int = DEFAULT_MAX_WORDS) -> Dict[str, str]:
    """question id -> the baseline's answer, for (id, question, context) triples: the predictions that
    `qa_scoring.evaluate` takes. ValueError naming a repeated id."""
    predictions: Dict[str, str] = {}
    for question_id, question, context in examples:
        if question_id in predictions:
            raise ValueError(f"question id {question_id!r} appears more than once in the examples")
        predictions[question_id] = answer_question(question, context, language, max_chars, max_words)
    return predictions
