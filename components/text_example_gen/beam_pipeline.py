"""TextExampleGen's Beam steps: delimited text files -> tf.Examples, bad rows counted and skipped.

`TextToExample` is the per-split PTransform the executor's base class (`BaseExampleGenExecutor`) applies.
When the pipeline is built, it globs the split's files and reads each file's header (a header that differs
from `column_names` or from the split's first file is an error naming the file and both lists). Beam then
parses each file in one piece, on one worker (a file is streamed line by line, so a multi-line quoted field
is seen whole; parallelism comes from having several files), with `parsing.read_records`.

Every valid row becomes a tf.Example with one feature per column: bytes_list (UTF-8) for strings, int64_list
or float_list for typed columns; an empty field is a feature without values, as in CsvExampleGen. Rows with
too few or too many fields, invalid UTF-8, unparseable typed values or malformed CSV are skipped and counted
(Beam counters in the namespace `TextExampleGen`, named by reason: `parsing.SKIP_REASONS`); blank lines are
skipped and counted as `blank_lines`; long string fields are cut and counted (`truncated_fields`).
`components.counted_example_gen.CountExamples` counts what reaches each output split (`examples_written`). The counters' step names
(`INPUT_STEP`, `COUNT_STEP`) are what `summary.summary_from_counters` sorts them by.

No TFX at import time: Beam workers import this module (and the package's lazy `__init__`).
"""

import os
from typing import Any, Dict, Iterable, List, Mapping, Sequence

import apache_beam as beam
from absl import logging
from apache_beam.io.filesystems import FileSystems
from tensorflow.core.example import example_pb2

from components.text_example_gen import parsing
from components.text_example_gen import spec as spec_lib

METRICS_NAMESPACE = "TextExampleGen"
COUNTER_NAMES = parsing.VOLUME + parsing.SKIP_REASONS + parsing.NOTES
INPUT_STEP = "InputToRecord"  # the base class's label for our PTransform ("InputToRecord[split]" per split)

_MAX_LOGGED_PER_REASON = 5  # bad rows logged per reason and DoFn instance (all are counted)


def list_files(pattern: str) -> List[str]:
    """The files (not folders) that match a glob pattern, sorted."""
    from tfx.dsl.io import fileio  # where the pipeline is built, never on a worker

    return sorted(path for path in fileio.glob(pattern) if not fileio.isdir(path))


def resolve_columns(files: Sequence[str], options: spec_lib.TextOptions, pattern: str) -> List[str]:
    """The columns of a split: `column_names`, checked against every file's header when `header` is True.

    Raises ValueError naming the file whose header differs from `column_names` or from the first header.
    """
    if not options.header:
        return list(options.column_names)
    expected = list(options.column_names) if options.column_names is not None else None
    source = "column_names"
    for path in files:
        with FileSystems.open(path) as f:
            names = parsing.read_header(f, options, path)
        if names is None:
            logging.warning("TextExampleGen: %s has no header line (and no rows)", path)
            continue
        if expected is None:
            expected, source = names, f"the header of {path}"
        elif names != expected:
            raise ValueError(f"{path}: its header {names} does not match {source} {expected}")
    if expected is None:
        raise ValueError(f"no file matching {pattern} has a header line; give column_names (or header=False)")
    return expected


def make_example(columns: Sequence[str], types_: Sequence[str], values: Sequence[list]) -> example_pb2.Example:
    example = example_pb2.Example()
    features = example.features.feature
    for column, kind, column_values in zip(columns, types_, values):
        feature = features[column]
        if kind == spec_lib.INT:
            feature.int64_list.SetInParent()
            feature.int64_list.value.extend(column_values)
        elif kind == spec_lib.FLOAT:
            feature.float_list.SetInParent()
            feature.float_list.value.extend(column_values)
        else:
            feature.bytes_list.SetInParent()
            feature.bytes_list.value.extend(column_values)
    return example


class ParseFile(beam.DoFn):
    """A file path -> the tf.Examples of its valid rows; every skipped row counted by reason."""

    def __init__(self, options: Dict[str, Any], columns: List[str]):
        super().__init__()
        self._options_dict = options
        self._columns = columns

    def setup(self):
        self._options = spec_lib.TextOptions.from_dict(self._options_dict)
        self._converter = parsing.RowConverter(self._columns, self._options)
        self._counters = {name: beam.metrics.Metrics.counter(METRICS_NAMESPACE, name) for name in COUNTER_NAMES}
        self._logged: Dict[str, int] = {}

    def _log(self, path: str, record: parsing.Record, reason: str):
        n = self._logged.get(reason, 0)
        if n < _MAX_LOGGED_PER_REASON:
            self._logged[reason] = n + 1
            logging.warning("TextExampleGen: skipped %s line %d (%s%s): %r%s", path, record.line, reason,
                            f": {record.detail}" if record.detail else "", record.raw[:200],
                            " (no more of these are logged)" if n + 1 == _MAX_LOGGED_PER_REASON else "")

    def process(self, path: str) -> Iterable[example_pb2.Example]:
        counts = {parsing.FILES: 1}
        header_pending = self._options.header
        converter = self._converter
        with FileSystems.open(path) as f:
            for record in parsing.read_records(f, self._options):
                if record.blank:
                    counts[parsing.BLANK_LINES] = counts.get(parsing.BLANK_LINES, 0) + 1
                    continue
                if header_pending:  # the first non-blank record (checked when the pipeline was built)
                    header_pending = False
                    continue
                counts[parsing.RECORDS] = counts.get(parsing.RECORDS, 0) + 1
                reason, values = converter.convert(record, counts)
                if reason is not None:
                    counts[reason] = counts.get(reason, 0) + 1
                    self._log(path, record, reason)
                    continue
                counts[parsing.EXAMPLES] = counts.get(parsing.EXAMPLES, 0) + 1
                yield make_example(converter.columns, converter.types, values)
        for name, n in counts.items():  # once per file: cheaper than a counter update per row
            self._counters[name].inc(n)
        if counts.get(parsing.TRUNCATED_FIELDS):  # kept, but not silently: the run summary counts them too
            logging.warning("TextExampleGen: %s: %d field(s) longer than max_field_chars were cut to %d characters",
                            path, counts[parsing.TRUNCATED_FIELDS], self._options.max_field_chars)


class TextToExample(beam.PTransform):
    """Reads the delimited text files of one split pattern and makes tf.Examples (the base class's contract:
    `TextToExample(exec_properties, split_pattern)` applied to the pipeline)."""

    def __init__(self, exec_properties: Mapping[str, Any], split_pattern: str):
        from tfx.types import standard_component_specs  # built in the executor's process, never on a worker

        super().__init__()
        self._options = spec_lib.from_exec_properties(exec_properties)
        self._pattern = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)

    def expand(self, pipeline) -> beam.PCollection:
        files = list_files(self._pattern)
        if not files:
            raise RuntimeError(f"Split pattern {self._pattern} does not match any files.")
        columns = resolve_columns(files, self._options, self._pattern)
        unknown = sorted(set(self._options.column_types or {}) - set(columns))
        if unknown:
            raise ValueError(f"column_types names columns {unknown} that the files under {self._pattern} do not "
                             f"have; their columns are {columns}")
        logging.info("TextExampleGen: %d file(s) for %s, columns %s", len(files), self._pattern, columns)
        return (
            pipeline
            | "ListFiles" >> beam.Create(files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.ParDo(ParseFile(self._options.to_dict(), columns))
        )
