"""A question-answering export's answers to the eval questions, and their scores.

The export is the one albert-tfx serves (serving/qa_export.py): its `qa` signature takes batched `question` and
`context` strings and returns, among others, `answer_text` (empty when the model withholds an answer, which
scores as "no answer" on unanswerable questions). The names are serving/contract.py's (the one part of
`serving` this component reaches, tests/test_project.py).
"""

import os
import time
from typing import Callable, Dict, List, Sequence

from absl import logging

from components import qa_baseline, qa_scoring
from components.qa_evaluator.gate import ModelScores
from components.qa_evaluator.questions import EvalQuestion
from serving import contract

QA_SIGNATURE = contract.QA_SIGNATURE
QUESTION_INPUT, CONTEXT_INPUT = contract.QUESTION, contract.CONTEXT
ANSWER_TEXT_OUTPUT = contract.ANSWER_TEXT
SAVED_MODEL_FILE = contract.SAVED_MODEL_FILE

# Long runs say how far they are at most this often.
PROGRESS_INTERVAL_S = 30.0

Answerer = Callable[[List[str], List[str]], List[str]]  # (questions, contexts) -> answer texts


class ExportAnswerer:
    """An export's `qa` signature as a function of lists of strings: (questions, contexts) -> answer texts.
    ValueError naming the export and what it has instead when it is not a question-answering export."""

    def __init__(self, export_dir: str):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the tokenizers' ops before loading)

        if not tf.io.gfile.exists(os.path.join(export_dir, SAVED_MODEL_FILE)):
            raise ValueError(f"{export_dir}: no {SAVED_MODEL_FILE}; the model input holds no SavedModel there")
        self._loaded = tf.saved_model.load(export_dir)  # kept: the signature's variables live in it
        signatures = sorted(self._loaded.signatures.keys())
        if QA_SIGNATURE not in signatures:
            raise ValueError(f"{export_dir}: no {QA_SIGNATURE!r} signature (signatures: {signatures}); the "
                             "QaEvaluator needs a question-answering export")
        self._function = self._loaded.signatures[QA_SIGNATURE]
        inputs = sorted(self._function.structured_input_signature[1])
        outputs = sorted(self._function.structured_outputs)
        if {QUESTION_INPUT, CONTEXT_INPUT} - set(inputs) or ANSWER_TEXT_OUTPUT not in outputs:
            raise ValueError(f"{export_dir}: the {QA_SIGNATURE!r} signature takes {inputs} and returns {outputs}; "
                             f"the QaEvaluator needs inputs {[QUESTION_INPUT, CONTEXT_INPUT]} and output "
                             f"{ANSWER_TEXT_OUTPUT!r}")

    def __call__(self, questions: List[str], contexts: List[str]) -> List[str]:
        import tensorflow as tf

        result = self._function(**{QUESTION_INPUT: tf.constant(questions, tf.string),
                                   CONTEXT_INPUT: tf.constant(contexts, tf.string)})
        return [text.decode("utf-8", errors="replace") for text in result[ANSWER_TEXT_OUTPUT].numpy()]


def answer_all(answerer: Answerer, questions: Sequence[EvalQuestion], batch_size: int, name: str) -> List[str]:
    """The answers to `questions`, in order, `batch_size` at a time. Logs how many are answered every
    PROGRESS_INTERVAL_S, and the total at the end; `name` ("candidate", "baseline") says whose answers."""
    answers: List[str] = []
    started = last_log = time.monotonic()
    for begin in range(0, len(questions), batch_size):
        batch = questions[begin:begin + batch_size]
        batch_answers = answerer([q.question for q in batch], [q.context for q in batch])
        if len(batch_answers) != len(batch):
            raise ValueError(f"{name}: {len(batch_answers)} answers to a batch of {len(batch)} questions")
        answers.extend(batch_answers)
        if time.monotonic() - last_log >= PROGRESS_INTERVAL_S and len(answers) < len(questions):
            last_log = time.monotonic()
            logging.info("QaEvaluator: %s answered %d of %d questions (%.0f s)", name, len(answers), len(questions),
                         last_log - started)
    logging.info("QaEvaluator: %s answered %d questions in %.1f s", name, len(answers), time.monotonic() - started)
    return answers


def scoring_language(language: str, questions: Sequence[EvalQuestion]) -> str:
    """The scoring rules, "en" or "zh". "auto" decides once, from the gold answers (the contexts when no question
    has one), so candidate and baseline are scored by the same rules (qa_scoring.evaluate would look at each
    model's predictions then)."""
    gold = [answer for q in questions for answer in q.gold_answers]
    return qa_scoring.resolve_language(language, gold or [q.context for q in questions])


def rule_answers(questions: Sequence[EvalQuestion], language: str) -> List[str]:
    """The non-learned answerer's answers (components/qa_baseline.py), in order: the scale for the model's."""
    return [qa_baseline.answer_question(q.question, q.context, language) for q in questions]


def score(questions: Sequence[EvalQuestion], answers: Sequence[str], language: str) -> ModelScores:
    """Exact match and F1 of `answers` (one per question, in order) as fractions; `language` "en" or "zh"."""
    # Keyed by position: question ids need not be unique across the split's files.
    references: Dict[str, Sequence[str]] = {str(i): list(q.gold_answers) for i, q in enumerate(questions)}
    predictions = {str(i): answer for i, answer in enumerate(answers)}
    scores = qa_scoring.evaluate(predictions, references, language)
    return ModelScores.from_percent(scores.exact_match, scores.f1, scores.count)
