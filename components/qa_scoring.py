"""Exact match and F1 of extractive answers, as the official evaluation scripts define them.

English ("en") follows SQuAD v1.1/v2.0: lower case, drop `string.punctuation`, drop the articles a/an/the,
collapse whitespace; EM compares the normalized strings, F1 the multisets of their whitespace tokens.

Chinese ("zh") follows CMRC 2018: lower case, strip, drop the characters of `ZH_PUNCTUATION`; EM compares the
normalized strings, F1 segments them (each CJK character a token, runs of other letters and digits a token)
and takes the longest common substring of the two token lists as the overlap.

"auto" picks "zh" when CJK characters make up most of the gold answers (`detect_language`). Both languages
share the rest: a gold answer with no tokens is dropped, a question with none left is unanswerable (SQuAD
2.0) and is scored against the empty string, F1 is 1 when both sides have no token and 0 when one has none,
each question takes its best gold answer, and `evaluate` reports percentages over every reference
question, a missing prediction scoring 0.
"""

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, List, Mapping, Sequence, Tuple

LANGUAGES = ("en", "zh", "auto")

_EN_PUNCTUATION = frozenset(string.punctuation)
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")

# The official CMRC 2018 script's list, character by character. Its list also holds '……', two characters,
# which its per-character test never matches, so a lone '…' stays there and stays here.
ZH_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』")
# The official script's CJK class (CJK Unified Ideographs up to U+9FA5; traditional characters included).
_CJK = "\u4e00-\u9fa5"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NON_CJK_WORD = f"[^\\W_{_CJK}]+"
# The official script splits the non-CJK runs with nltk.word_tokenize; this regex stands in for it where
# answers need it: "3.5", "1,000" and "v2.0" stay one token, other symbols ("%", "!", a lone ".") are tokens
# of their own. (nltk also splits contractions and rewrites quotes; answers rarely hold them.)
_ZH_TOKEN = re.compile(f"[{_CJK}]|\\d+(?:,\\d+)+(?:\\.\\d+)?|{_NON_CJK_WORD}(?:\\.{_NON_CJK_WORD})*|\\S")


def normalize_en(text: str) -> str:
    """SQuAD's normalize_answer: 'The  Eiffel-Tower!' -> 'eiffeltower'."""
    text = "".join(ch for ch in text.lower() if ch not in _EN_PUNCTUATION)
    return " ".join(_EN_ARTICLES.sub(" ", text).split())


def tokens_en(text: str) -> List[str]:
    return normalize_en(text).split()


def normalize_zh(text: str) -> str:
    """CMRC 2018's remove_punctuation: '《三体》。' -> '三体'. The official order (strip, then drop punctuation)
    keeps the space of 'abc 。'; whitespace inside the text counts for EM."""
    return "".join(ch for ch in text.lower().strip() if ch not in ZH_PUNCTUATION)


def tokens_zh(text: str) -> List[str]:
    """CMRC 2018's mixed_segmentation without punctuation: 'ALBERT于2019年' -> ['albert', '于', '2019', '年']."""
    return _ZH_TOKEN.findall(normalize_zh(text))


def multiset_overlap(prediction_tokens: Sequence[str], gold_tokens: Sequence[str]) -> int:
    """SQuAD's overlap: tokens in common, each as often as on the side that has it fewer times."""
    return sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())


def longest_common_substring(prediction_tokens: Sequence[str], gold_tokens: Sequence[str]) -> int:
    """CMRC 2018's overlap: the length of the longest run of tokens both lists hold in the same order,
    contiguous in both."""
    longest = 0
    previous = [0] * (len(gold_tokens) + 1)  # run lengths ending at the previous prediction token
    for prediction_token in prediction_tokens:
        current = [0] * (len(gold_tokens) + 1)
        for j, gold_token in enumerate(gold_tokens):
            if prediction_token == gold_token:
                current[j + 1] = previous[j] + 1
                longest = max(longest, current[j + 1])
        previous = current
    return longest


@dataclass(frozen=True)
class _Language:
    normalize: Callable[[str], str]  # what exact match compares
    tokens: Callable[[str], List[str]]  # what F1 counts
    overlap: Callable[[Sequence[str], Sequence[str]], int]


_RULES = {
    "en": _Language(normalize_en, tokens_en, multiset_overlap),
    "zh": _Language(normalize_zh, tokens_zh, longest_common_substring),
}


def detect_language(texts: Iterable[str]) -> str:
    """'zh' when the texts hold at least as many CJK characters as other words (runs of letters or digits)
    and at least one: '2019年' and 'ALBERT模型' are Chinese, 'Paris' and no text at all are English."""
    cjk_characters = other_words = 0
    for text in texts:
        cjk_characters += len(_CJK_CHAR.findall(text))
        other_words += len(re.findall(_NON_CJK_WORD, text))
    return "zh" if cjk_characters and cjk_characters >= other_words else "en"


def resolve_language(language: str, texts: Iterable[str]) -> str:
    """'en' or 'zh': `language` itself, or for 'auto' what `detect_language` makes of `texts`."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, got {language!r}")
    return detect_language(texts) if language == "auto" else language


def _f1(prediction_tokens: Sequence[str], gold_tokens: Sequence[str], rules: _Language) -> float:
    if not prediction_tokens or not gold_tokens:
        return float(not prediction_tokens and not gold_tokens)  # SQuAD 2.0: right only when both are empty
    overlap = rules.overlap(prediction_tokens, gold_tokens)
    if not overlap:
        return 0.0
    precision = overlap / len(prediction_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _score(prediction: str, gold_answers: Sequence[str], rules: _Language) -> Tuple[float, float]:
    # SQuAD 2.0 drops gold answers that normalize to nothing; with none left the right answer is no answer.
    answerable = [gold for gold in gold_answers if rules.tokens(gold)]
    normalized_prediction, prediction_tokens = rules.normalize(prediction), rules.tokens(prediction)
    exact_match = f1 = 0.0
    for gold in answerable or [""]:
        exact_match = max(exact_match, float(normalized_prediction == rules.normalize(gold)))
        f1 = max(f1, _f1(prediction_tokens, rules.tokens(gold), rules))
    return exact_match, f1


def _check_answers(answers, name: str) -> None:
    # A bare string is a sequence too, and would be scored as one gold answer per character.
    if isinstance(answers, str) or not all(isinstance(answer, str) for answer in answers):
        raise ValueError(f"{name} must be a sequence of answer strings, got {answers!r}")


def _check_prediction(prediction, name: str) -> None:
    if not isinstance(prediction, str):
        raise ValueError(f"{name} must be a string, got {type(prediction).__name__} {prediction!r}")


def score_prediction(prediction: str, gold_answers: Sequence[str], language: str = "auto") -> Tuple[float, float]:
    """(exact match, F1) of one prediction, each in [0, 1], against its best gold answer; no gold answers
    means the question is unanswerable and the empty prediction is right. 'auto' looks at the gold answers
    (at the prediction when there are none)."""
    _check_prediction(prediction, "prediction")
    _check_answers(gold_answers, "gold_answers")
    language = resolve_language(language, gold_answers or [prediction])
    return _score(prediction, gold_answers, _RULES[language])


@dataclass(frozen=True)
class QaScores:
    """Means over the reference questions, in percent (0..100) like the official scripts print them."""

    exact_match: float
    f1: float
    count: int  # reference questions scored
    missing: int  # of them without a prediction (scored 0)
    language: str  # "en" or "zh": the rules used


def _check_inputs(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> None:
    if not references:
        raise ValueError("no reference questions to score (references is empty)")
    for question_id, answers in references.items():
        _check_answers(answers, f"references[{question_id!r}]")
    for question_id, prediction in predictions.items():
        if question_id not in references:
            raise ValueError(f"prediction for question id {question_id!r}, which is not among the "
                             f"{len(references):,} reference questions")
        _check_prediction(prediction, f"prediction for question id {question_id!r}")


def evaluate(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]],
             language: str = "auto") -> QaScores:
    """Score `predictions` (question id -> answer text) against `references` (question id -> gold answers;
    empty for an unanswerable question). 'auto' decides once for the whole set, from all gold answers (from
    the predictions when no question has one). ValueError naming the question id for a prediction of an
    unknown question or a value of the wrong type."""
    _check_inputs(predictions, references)
    gold_texts = [answer for answers in references.values() for answer in answers]
    rules_name = resolve_language(language, gold_texts or list(predictions.values()))
    rules = _RULES[rules_name]
    exact_match_sum = f1_sum = 0.0
    for question_id, gold_answers in references.items():
        if question_id in predictions:
            exact_match, f1 = _score(predictions[question_id], gold_answers, rules)
            exact_match_sum += exact_match
            f1_sum += f1
    count = len(references)
    return QaScores(exact_match=100.0 * exact_match_sum / count, f1=100.0 * f1_sum / count, count=count,
                    missing=sum(question_id not in predictions for question_id in references),
                    language=rules_name)
