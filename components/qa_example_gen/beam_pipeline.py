"""QaExampleGen's Beam steps: SQuAD-format JSON files -> one tf.Example per question, bad entries counted.

`QaToExample` is the per-split PTransform the executor's base class (`BaseExampleGenExecutor`) applies: it
globs the split's files when the pipeline is built, and Beam parses each file whole, on one worker (a JSON
document cannot be split; parallelism comes from having several files), with `parsing.parse_squad`.

Each kept question becomes a tf.Example with the features `text_contract.features.QA_RAW_FEATURES`: id,
title, question, context (bytes, UTF-8), answer_texts (bytes list), answer_starts (int64 list, character
offsets into context, same length), is_impossible (int64 0/1). answer_texts and answer_starts of an
unanswerable question are empty lists of their type, so every example has every feature.

Skipped questions and dropped answers are counted (Beam counters in the namespace `QaExampleGen`, named by
reason: `parsing.SKIP_REASONS`, `parsing.ANSWER_DROP_REASONS`) and the first few of each reason logged with
the file, article, question id and field. A file that is not JSON fails the run (`parsing.QaFileError`).
`components.counted_example_gen.CountExamples` counts what reaches each output split (`examples_written`). The counters' step names
(`INPUT_STEP`, `COUNT_STEP`) are what `summary.summary_from_counters` sorts them by.

No TFX at import time: Beam workers import this module (and the package's lazy `__init__`).
"""

import os
from typing import Any, Dict, Iterable, List, Mapping

import apache_beam as beam
from absl import logging
from apache_beam.io.filesystems import FileSystems
from tensorflow.core.example import example_pb2

from components.qa_example_gen import parsing
from components.qa_example_gen import spec as spec_lib
from text_contract import features

METRICS_NAMESPACE = "QaExampleGen"
COUNTER_NAMES = parsing.VOLUME + parsing.SKIP_REASONS + parsing.ANSWER_DROP_REASONS + parsing.NOTES
INPUT_STEP = "InputToRecord"  # the base class's label for our PTransform ("InputToRecord[split]" per split)

_MAX_LOGGED_PER_REASON = 5  # problems logged per reason and DoFn instance (all are counted)


def list_files(pattern: str) -> List[str]:
    """The files (not folders) that match a glob pattern, sorted."""
    from tfx.dsl.io import fileio  # where the pipeline is built, never on a worker

    return sorted(path for path in fileio.glob(pattern) if not fileio.isdir(path))


def make_example(question: parsing.Question) -> example_pb2.Example:
    example = example_pb2.Example()
    feature = example.features.feature
    for key, value in ((features.QA_ID, question.id), (features.QA_TITLE, question.title),
                       (features.QA_QUESTION, question.question), (features.QA_CONTEXT, question.context)):
        feature[key].bytes_list.value.append(value.encode("utf-8"))
    feature[features.QA_ANSWER_TEXTS].bytes_list.SetInParent()  # typed even when empty (unanswerable)
    feature[features.QA_ANSWER_TEXTS].bytes_list.value.extend(text.encode("utf-8") for text in question.answer_texts)
    feature[features.QA_ANSWER_STARTS].int64_list.SetInParent()
    feature[features.QA_ANSWER_STARTS].int64_list.value.extend(question.answer_starts)
    feature[features.QA_IS_IMPOSSIBLE].int64_list.value.append(int(question.is_impossible))
    return example


class ParseFile(beam.DoFn):
    """A file path -> the tf.Examples of its kept questions; every skipped question and dropped answer counted."""

    def setup(self):
        self._counters = {name: beam.metrics.Metrics.counter(METRICS_NAMESPACE, name) for name in COUNTER_NAMES}
        self._logged: Dict[str, int] = {}

    def _log(self, problem: parsing.Problem):
        n = self._logged.get(problem.reason, 0)
        if n < _MAX_LOGGED_PER_REASON:
            self._logged[problem.reason] = n + 1
            what = "dropped an answer" if problem.reason in parsing.ANSWER_DROP_REASONS else "skipped a question"
            logging.warning("QaExampleGen: %s: %s%s", what, problem,
                            " (no more of these are logged)" if n + 1 == _MAX_LOGGED_PER_REASON else "")

    def process(self, path: str) -> Iterable[example_pb2.Example]:
        with FileSystems.open(path) as f:
            data = f.read()
        parsed = parsing.parse_squad(data, path)
        for problem in parsed.problems:
            self._log(problem)
        parsed.counts[parsing.FILES] += 1
        for name, n in parsed.counts.items():  # once per file: cheaper than a counter update per question
            self._counters[name].inc(n)
        for question in parsed.questions:
            yield make_example(question)


class QaToExample(beam.PTransform):
    """Reads the SQuAD-format JSON files of one split pattern and makes tf.Examples (the base class's contract:
    `QaToExample(exec_properties, split_pattern)` applied to the pipeline)."""

    def __init__(self, exec_properties: Mapping[str, Any], split_pattern: str):
        from tfx.types import standard_component_specs  # built in the executor's process, never on a worker

        super().__init__()
        spec_lib.from_exec_properties(exec_properties)  # a bad option fails here, before Beam runs
        self._pattern = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)

    def expand(self, pipeline) -> beam.PCollection:
        files = list_files(self._pattern)
        if not files:
            raise RuntimeError(f"Split pattern {self._pattern} does not match any files.")
        logging.info("QaExampleGen: %d file(s) for %s", len(files), self._pattern)
        return (
            pipeline
            | "ListFiles" >> beam.Create(files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.ParDo(ParseFile())
        )
