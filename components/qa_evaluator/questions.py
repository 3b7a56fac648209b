"""The questions of an eval split: QaExampleGen's gzipped TFRecords of tf.Examples, one per question.

Each tf.Example holds `text_contract.features.QA_RAW_FEATURES`; the evaluator reads the id, question, context
and gold answers (`QA_ANSWER_TEXTS`, empty for an unanswerable SQuAD v2.0 question, which
`components.qa_scoring` then scores against the empty answer). `QA_IS_IMPOSSIBLE` = 1 empties the gold
answers too, so an unanswerable question is scored as one whatever else its example carries. A missing feature
is a ValueError naming the file, the record and the feature.
"""

import dataclasses
import os
from typing import Iterator, List, Optional, Tuple

from text_contract import features

# What the evaluator cannot do without (QA_IS_IMPOSSIBLE is optional: SQuAD v1.1 data may lack it).
REQUIRED_FEATURES = (features.QA_ID, features.QA_QUESTION, features.QA_CONTEXT, features.QA_ANSWER_TEXTS)


@dataclasses.dataclass(frozen=True)
class EvalQuestion:
    question_id: str
    question: str
    context: str
    gold_answers: Tuple[str, ...]  # empty: unanswerable


def split_files(split_dir: str) -> List[str]:
    """The record files of a split directory (`<examples uri>/Split-<name>`), sorted; ValueError when none."""
    import tensorflow as tf

    if not tf.io.gfile.isdir(split_dir):
        raise ValueError(f"{split_dir}: no such split directory")
    files = sorted(os.path.join(split_dir, name) for name in tf.io.gfile.listdir(split_dir)
                   if not tf.io.gfile.isdir(os.path.join(split_dir, name)))
    if not files:
        raise ValueError(f"{split_dir}: no record files in the split")
    return files


def _texts(example, key: str, where: str) -> List[str]:
    feature = example.features.feature.get(key)
    if feature is None or feature.WhichOneof("kind") != "bytes_list":
        found = "missing" if feature is None else f"a {feature.WhichOneof('kind')}, not a bytes_list"
        raise ValueError(f"{where}: feature {key!r} is {found} (features: {sorted(example.features.feature)}); "
                         "the QaEvaluator reads QaExampleGen's examples")
    return [value.decode("utf-8", errors="replace") for value in feature.bytes_list.value]


def _single_text(example, key: str, where: str) -> str:
    values = _texts(example, key, where)
    if len(values) != 1:
        raise ValueError(f"{where}: feature {key!r} holds {len(values)} values, not one")
    return values[0]


def parse_question(serialized: bytes, where: str) -> EvalQuestion:
    """One serialized tf.Example of QaExampleGen -> EvalQuestion; `where` (file and record) names it in errors."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(serialized)
    question_id = _single_text(example, features.QA_ID, where)
    where = f"{where} (question {question_id!r})"
    answers = _texts(example, features.QA_ANSWER_TEXTS, where)
    impossible = example.features.feature.get(features.QA_IS_IMPOSSIBLE)
    if impossible is not None and any(impossible.int64_list.value):
        answers = []
    return EvalQuestion(question_id=question_id, question=_single_text(example, features.QA_QUESTION, where),
                        context=_single_text(example, features.QA_CONTEXT, where), gold_answers=tuple(answers))


def iter_questions(files: List[str]) -> Iterator[EvalQuestion]:
    """The questions of gzipped TFRecord files (TFX's ExampleGen output format), in file order."""
    import tensorflow as tf

    for path in files:
        records = iter(tf.data.TFRecordDataset(path, compression_type="GZIP"))
        index = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except tf.errors.DataLossError as error:
                raise ValueError(f"{path}, record {index}: not a readable gzipped TFRecord "
                                 f"({error.message})") from error
            yield parse_question(record.numpy(), f"{path}, record {index}")
            index += 1


def read_questions(split_dir: str, limit: Optional[int] = None) -> List[EvalQuestion]:
    """The first `limit` questions of a split directory (all of them with None); ValueError when there are none."""
    questions = []
    for question in iter_questions(split_files(split_dir)):
        if limit is not None and len(questions) >= limit:
            break
        questions.append(question)
    if not questions:
        raise ValueError(f"{split_dir}: the split holds no questions")
    return questions
