"""SQuAD-format JSON -> one question record per question, in plain Python (no Beam, no TensorFlow).

The layout (SQuAD v1.1 / v2.0; CMRC 2018 and DRCD use it too):
`{"version": ..., "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}], "is_impossible"?}]}]}]}`. Extra keys are ignored (DRCD's answer
"id", CMRC's article and paragraph "id", SQuAD v2.0's "plausible_answers").

`parse_squad(data, source)` reads one file's bytes (a UTF-8 BOM is allowed) and returns a `ParsedFile`: the
kept `Question`s, the counts (`VOLUME`, `SKIP_REASONS`, `ANSWER_DROP_REASONS`, `NOTES`: the Beam counter
names) and every `Problem` (reason, file, article, question id, field). A file that is not UTF-8 JSON, or
whose top level is not an object with a "data" list, raises `QaFileError` naming the file (and the JSON
error's line and column): nothing of it is usable, so it is never silently skipped.

What is skipped, and counted. The unit is the question (the cap on skipped questions, max_skipped_fraction,
counts them):
- `missing_field` / `wrong_type`: the question, or its paragraph or article, lacks a key or has a value of the
  wrong type (the problem names the field). An article or paragraph that is not an object, or whose
  "paragraphs" / "qas" is not a list, hides how many questions it held: it counts as one question read and
  skipped.
- `empty_context` / `empty_question`: empty or whitespace only.
- `no_valid_answer`: an answerable question none of whose gold answers survived (below), or one without any.
- `duplicate_id`: a question id a kept question of the same file already has (ids are unique per file, not
  across the files of a split).
Answers are checked one by one, and a bad one is dropped and counted while the question keeps its good
ones: `bad_answer_start` (context[answer_start:answer_start + len(text)] != text, or a start outside the
context: the offsets are in characters, i.e. code points), `empty_answer` (empty or whitespace-only text),
`malformed_answer` (not an object, "text" not a string, "answer_start" not an integer). An unanswerable
SQuAD v2.0 question (`is_impossible` true) is kept with no answers; answers it lists are ignored.

Titles. The `title` feature is the article's title; an article without one (missing, not a string, empty:
CMRC 2018 dev has two) gets a stable stand-in, counted as `untitled_articles`: the article's "id" (CMRC,
DRCD), else its first paragraph's "id", else `<file name>#<article index>`. The train/eval split hashes
this title (`article_split`), so all questions of an article stay on one side.
"""

import dataclasses
import hashlib
import json
import os
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from components import data_counts
from components.qa_example_gen import spec as spec_lib

# Why a question was skipped (Beam counter names in the summary's "skipped").
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
EMPTY_CONTEXT = "empty_context"
EMPTY_QUESTION = "empty_question"
NO_VALID_ANSWER = "no_valid_answer"
DUPLICATE_ID = "duplicate_id"
SKIP_REASONS = (MISSING_FIELD, WRONG_TYPE, EMPTY_CONTEXT, EMPTY_QUESTION, NO_VALID_ANSWER, DUPLICATE_ID)

# Why a gold answer was dropped (its question may still be kept).
BAD_ANSWER_START = "bad_answer_start"
EMPTY_ANSWER = "empty_answer"
MALFORMED_ANSWER = "malformed_answer"
ANSWER_DROP_REASONS = (BAD_ANSWER_START, EMPTY_ANSWER, MALFORMED_ANSWER)

# Volume.
FILES = "files"
ARTICLES = "articles"
PARAGRAPHS = "paragraphs"
QUESTIONS = "questions"  # read: every entry of a "qas" list (plus unreadable articles and paragraphs, above)
EXAMPLES = "examples"  # questions kept
ANSWERS = "answers"  # gold answers read (of answerable questions)
ANSWERS_KEPT = "answers_kept"  # gold answers in kept questions
VOLUME = (FILES, ARTICLES, PARAGRAPHS, QUESTIONS, EXAMPLES, ANSWERS, ANSWERS_KEPT)

# Counted, nothing lost.
UNTITLED_ARTICLES = "untitled_articles"  # articles whose title is a stand-in (module docstring)
IMPOSSIBLE_QUESTIONS = "impossible_questions"  # kept questions with is_impossible true (SQuAD v2.0)
NOTES = (UNTITLED_ARTICLES, IMPOSSIBLE_QUESTIONS)

BOM = "\ufeff"


class QaFileError(data_counts.DataError):
    """A file that is not SQuAD-format JSON at all; the message names the file (and the line and column)."""


@dataclasses.dataclass(frozen=True)
class Question:
    """One kept question: the values of its tf.Example (`text_contract.features.QA_RAW_FEATURES`)."""

    id: str
    title: str
    question: str
    context: str
    answer_texts: Tuple[str, ...]
    answer_starts: Tuple[int, ...]
    is_impossible: bool


@dataclasses.dataclass(frozen=True)
class Problem:
    """A skipped question or dropped answer: why, and where (file, article, question id, field)."""

    reason: str  # a SKIP_REASONS or ANSWER_DROP_REASONS entry
    source: str  # the file
    article: int  # the article's index in "data"
    title: Optional[str]  # its title (or stand-in), when known
    question_id: Optional[str]  # the question's id, when known
    field: str  # the JSON path of the bad value inside the article, e.g. "paragraphs[0].qas[2].answers[1].text"
    detail: str  # what is wrong with it

    def __str__(self) -> str:
        where = f"article {self.article}" + (f" ({self.title!r})" if self.title is not None else "")
        if self.question_id is not None:
            where += f", question {self.question_id!r}"
        return f"{self.source}: {where}: {self.field}: {self.detail} ({self.reason})"


@dataclasses.dataclass
class ParsedFile:
    """What `parse_squad` made of one file."""

    questions: List[Question]
    counts: Counter
    problems: List[Problem]


def load_json(data: bytes, source: str) -> List[Any]:
    """The "data" list of a SQuAD-format file's bytes; QaFileError naming `source` when there is none."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise QaFileError(f"{source}: not UTF-8 (byte {e.start}: {e.reason}); SQuAD-format files are UTF-8 JSON") from e
    if text.startswith(BOM):
        text = text[1:]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise QaFileError(f"{source}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    if not isinstance(document, dict):
        raise QaFileError(f"{source}: not SQuAD-format JSON: the top level is {_type_name(document)}, not an "
                          'object with a "data" list')
    articles = document.get("data")
    if not isinstance(articles, list):
        what = "has no" if "data" not in document else f"has {_type_name(articles)} as its"
        raise QaFileError(f'{source}: not SQuAD-format JSON: the top-level object {what} "data" list of articles '
                          f"(keys: {sorted(document)[:10]})")
    return articles


def _type_name(value: Any) -> str:
    """`an object`, `a list`, ...: what a JSON value is, for messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_text(value: Any) -> Optional[str]:
    """A question id as text: a non-empty string, or an integer (some files number their questions)."""
    if isinstance(value, str) and value.strip():
        return value
    if _is_int(value):
        return str(value)
    return None


def article_title(article: Dict[str, Any], index: int, source: str) -> Tuple[str, bool]:
    """(the article's title or its stand-in, whether it is a stand-in): see the module docstring."""
    title = article.get("title")
    if isinstance(title, str) and title.strip():
        return title, False
    article_id = _id_text(article.get("id"))
    if article_id is not None:
        return article_id, True
    paragraphs = article.get("paragraphs")
    if isinstance(paragraphs, list) and paragraphs and isinstance(paragraphs[0], dict):
        paragraph_id = _id_text(paragraphs[0].get("id"))
        if paragraph_id is not None:
            return paragraph_id, True
    return f"{os.path.basename(source)}#{index}", True


def parse_squad(data: bytes, source: str) -> ParsedFile:
    """The questions of one SQuAD-format file (its bytes; `source` names it in problems and errors)."""
    return parse_articles(load_json(data, source), source)


def parse_articles(articles: List[Any], source: str) -> ParsedFile:
    """The questions of a file's "data" list (see the module docstring for what is skipped)."""
    parsed = ParsedFile([], Counter(), [])
    kept_ids = set()
    for index, article in enumerate(articles):
        _parse_article(article, index, source, parsed, kept_ids)
    return parsed


def _parse_article(article: Any, index: int, source: str, parsed: ParsedFile, kept_ids: set) -> None:
    counts = parsed.counts
    counts[ARTICLES] += 1

    def unreadable(reason: str, title: Optional[str], field: str, detail: str) -> None:
        counts[QUESTIONS] += 1  # its questions cannot be counted: one unit read and skipped
        counts[reason] += 1
        parsed.problems.append(Problem(reason, source, index, title, None, field, detail))

    if not isinstance(article, dict):
        unreadable(WRONG_TYPE, None, "(article)", f"is {_type_name(article)}, not an object")
        return
    title, stand_in = article_title(article, index, source)
    if stand_in:
        counts[UNTITLED_ARTICLES] += 1
    paragraphs = article.get("paragraphs")
    if not isinstance(paragraphs, list):
        reason = MISSING_FIELD if paragraphs is None else WRONG_TYPE
        unreadable(reason, title, "paragraphs", "is missing" if paragraphs is None else
                   f"is {_type_name(paragraphs)}, not a list")
        return
    for p_index, paragraph in enumerate(paragraphs):
        counts[PARAGRAPHS] += 1
        where = f"paragraphs[{p_index}]"
        if not isinstance(paragraph, dict):
            unreadable(WRONG_TYPE, title, where, f"is {_type_name(paragraph)}, not an object")
            continue
        qas = paragraph.get("qas")
        if not isinstance(qas, list):
            unreadable(MISSING_FIELD if qas is None else WRONG_TYPE, title, f"{where}.qas",
                       "is missing" if qas is None else f"is {_type_name(qas)}, not a list")
            continue
        context = paragraph.get("context")
        if context is None:
            context_problem = (MISSING_FIELD, f"{where}.context", "is missing")
        elif not isinstance(context, str):
            context_problem = (WRONG_TYPE, f"{where}.context", f"is {_type_name(context)}, not a string")
        elif not context.strip():
            context_problem = (EMPTY_CONTEXT, f"{where}.context", "is empty")
        else:
            context_problem = None
        for q_index, qa in enumerate(qas):
            counts[QUESTIONS] += 1
            question, problem = _parse_question(qa, f"{where}.qas[{q_index}]", context, context_problem, kept_ids,
                                                parsed, Problem("", source, index, title, None, "", ""))
            if problem is not None:
                counts[problem.reason] += 1
                parsed.problems.append(problem)
                continue
            kept_ids.add(question.id)
            counts[EXAMPLES] += 1
            counts[ANSWERS_KEPT] += len(question.answer_texts)
            if question.is_impossible:
                counts[IMPOSSIBLE_QUESTIONS] += 1
            parsed.questions.append(question)


def _parse_question(qa: Any, where: str, context: Any, context_problem: Optional[Tuple[str, str, str]],
                    kept_ids: set, parsed: ParsedFile, location: Problem) -> Tuple[Optional[Question], Optional[Problem]]:
    """(the question, None) or (None, why it is skipped). `location` is a Problem naming the file and article;
    the problems returned fill in its reason, field and question id. Dropped answers go to `parsed` directly."""

    def problem(reason: str, field: str, detail: str, question_id: Optional[str] = None) -> Problem:
        return dataclasses.replace(location, reason=reason, field=field, detail=detail, question_id=question_id)

    if not isinstance(qa, dict):
        return None, problem(WRONG_TYPE, where, f"is {_type_name(qa)}, not an object")
    raw_id = qa.get("id")
    question_id = _id_text(raw_id)
    if question_id is None:
        if raw_id is None:
            return None, problem(MISSING_FIELD, f"{where}.id", "is missing")
        return None, problem(WRONG_TYPE, f"{where}.id", f"is {raw_id!r}, not a non-empty string or an integer")
    text = qa.get("question")
    if text is None:
        return None, problem(MISSING_FIELD, f"{where}.question", "is missing", question_id)
    if not isinstance(text, str):
        return None, problem(WRONG_TYPE, f"{where}.question", f"is {_type_name(text)}, not a string", question_id)
    impossible = qa.get("is_impossible", False)
    if impossible in (0, 1) and not isinstance(impossible, float):  # True/False, or 0/1 as some files write it
        impossible = bool(impossible)
    else:
        return None, problem(WRONG_TYPE, f"{where}.is_impossible", f"is {impossible!r}, not true or false",
                             question_id)
    answers = qa.get("answers")
    if answers is None and not impossible:
        return None, problem(MISSING_FIELD, f"{where}.answers", "is missing", question_id)
    if answers is not None and not isinstance(answers, list):
        return None, problem(WRONG_TYPE, f"{where}.answers", f"is {_type_name(answers)}, not a list", question_id)
    if context_problem is not None:
        reason, field, detail = context_problem
        return None, problem(reason, field, detail, question_id)
    if not text.strip():
        return None, problem(EMPTY_QUESTION, f"{where}.question", "is empty", question_id)
    if question_id in kept_ids:
        return None, problem(DUPLICATE_ID, f"{where}.id", "an earlier question of this file has this id",
                             question_id)
    if impossible:  # unanswerable: no answers to check or keep
        return Question(question_id, location.title, text, context, (), (), True), None

    texts, starts = [], []
    for a_index, answer in enumerate(answers):
        parsed.counts[ANSWERS] += 1
        dropped = _check_answer(answer, context)
        if dropped is None:
            texts.append(answer["text"])
            starts.append(answer["answer_start"])
            continue
        reason, field, detail = dropped
        parsed.counts[reason] += 1
        parsed.problems.append(problem(reason, f"{where}.answers[{a_index}]{field}", detail, question_id))
    if not texts:
        detail = "has no answers" if not answers else f"none of its {len(answers)} answers is valid"
        return None, problem(NO_VALID_ANSWER, f"{where}.answers", detail, question_id)
    return Question(question_id, location.title, text, context, tuple(texts), tuple(starts), False), None


def _check_answer(answer: Any, context: str) -> Optional[Tuple[str, str, str]]:
    """None for a good answer, else (reason, field under the answer, what is wrong)."""
    if not isinstance(answer, dict):
        return MALFORMED_ANSWER, "", f"is {_type_name(answer)}, not an object"
    text, start = answer.get("text"), answer.get("answer_start")
    if not isinstance(text, str):
        return MALFORMED_ANSWER, ".text", "is missing" if text is None else f"is {_type_name(text)}, not a string"
    if not _is_int(start):
        return (MALFORMED_ANSWER, ".answer_start",
                "is missing" if start is None else f"is {start!r}, not an integer")
    if not text.strip():
        return EMPTY_ANSWER, ".text", "is empty"
    if start < 0:  # CMRC 2018 marks an answer its annotator could not place with -1
        return BAD_ANSWER_START, ".answer_start", f"is {start}, not a position in the context (answer {text[:80]!r})"
    if context[start:start + len(text)] != text:
        found = context[start:start + len(text)]
        return (BAD_ANSWER_START, ".answer_start", f"{start} does not point at the answer {text[:80]!r} (the context "
                f"has {found[:80]!r} there; it is {len(context):,} characters long)")
    return None


# The by-article split, as TFX does it for `spec.article_split_output_config`: BaseExampleGenExecutor's
# _PartitionFn hashes the partition feature (a tf.train.Feature holding the title as one bytes value, in its
# deterministic serialization) with SHA-256, takes it modulo the total buckets and gives the first
# SPLIT_BUCKETS - eval buckets to train. Recomputed here without protobuf or TFX (tests check both agree).


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def title_partition_key(title: str) -> bytes:
    """`tf.train.Feature(bytes_list=BytesList(value=[title.encode()])).SerializeToString(deterministic=True)`."""
    value = title.encode("utf-8")
    bytes_list = b"\x0a" + _varint(len(value)) + value  # BytesList.value, field 1, length-delimited
    return b"\x0a" + _varint(len(bytes_list)) + bytes_list  # Feature.bytes_list, field 1, length-delimited


def article_bucket(title: str) -> int:
    """The article's hash bucket in [0, SPLIT_BUCKETS): the same for a title in every run and process."""
    return int(hashlib.sha256(title_partition_key(title)).hexdigest(), 16) % spec_lib.SPLIT_BUCKETS


def article_split(title: str, eval_fraction: float = spec_lib.DEFAULT_EVAL_FRACTION) -> str:
    """"train" or "eval": the output split QaExampleGen puts the questions of the article `title` in, when it
    splits one input by article (`spec.article_split_output_config(eval_fraction)`). `title` is the `title`
    feature: for an untitled article, its stand-in (`article_title`)."""
    train_buckets = spec_lib.SPLIT_BUCKETS - spec_lib.eval_buckets(eval_fraction)
    return spec_lib.TRAIN_SPLIT if article_bucket(title) < train_buckets else spec_lib.EVAL_SPLIT
