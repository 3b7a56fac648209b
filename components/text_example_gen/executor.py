"""TextExampleGen's executor: delimited text files -> tf.Examples, bad rows counted and skipped.

`Executor` is a `BaseExampleGenExecutor`: the base class resolves the input and output configs (splits,
`{SPAN}` patterns, hash partitioning) and writes the gzipped TFRecords; `TextToExample` is the per-split
PTransform it applies. When the pipeline is built, `TextToExample` globs the split's files and reads
each file's header (a header that differs from `column_names` or from the split's first file is an
error naming the file and both lists). Beam then parses each file in one piece, on one worker (a file is
streamed line by line, so a multi-line quoted field is seen whole; parallelism comes from having several
files), with `parsing.read_records`.

Every valid row becomes a tf.Example with one feature per column: bytes_list (UTF-8) for strings, int64_list
or float_list for typed columns; an empty field is a feature without values, as in CsvExampleGen. Rows with
too few or too many fields, invalid UTF-8, unparseable typed values or malformed CSV are skipped and counted
(Beam counters in the namespace `TextExampleGen`, named by reason: `parsing.SKIP_REASONS`); blank lines are
skipped and counted as `blank_lines`; long string fields are cut and counted (`truncated_fields`).

After the Beam job, `Do` reads those counters from the pipeline result and writes
`text_example_gen_summary.json` at the root of the Examples artifact (next to the `Split-*` folders), with
the counts per input split (from the counters' step names) and the examples written per output split; two
totals also go on the artifact as custom properties. See `summary_from_counters` for the layout.
"""

import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import apache_beam as beam
from absl import logging
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from tensorflow.core.example import example_pb2
from tfx import types
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.text_example_gen import options as options_lib
from components.text_example_gen import parsing

METRICS_NAMESPACE = "TextExampleGen"
SUMMARY_FILE = "text_example_gen_summary.json"
EXAMPLES_WRITTEN = "examples_written"  # per output split, counted just before the base class writes it
COUNTER_NAMES = parsing.VOLUME + parsing.SKIP_REASONS + parsing.NOTES

_MAX_LOGGED_PER_REASON = 5  # bad rows logged per reason and DoFn instance (all are counted)
_INPUT_STEP = "InputToRecord"  # the base class's label for our PTransform ("InputToRecord[split]" per split)
_COUNT_STEP = "CountExamples"


def list_files(pattern: str) -> List[str]:
    """The files (not folders) that match a glob pattern, sorted."""
    return sorted(path for path in fileio.glob(pattern) if not fileio.isdir(path))


def resolve_columns(files: Sequence[str], options: options_lib.TextOptions, pattern: str) -> List[str]:
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
        if kind == options_lib.INT:
            feature.int64_list.SetInParent()
            feature.int64_list.value.extend(column_values)
        elif kind == options_lib.FLOAT:
            feature.float_list.SetInParent()
            feature.float_list.value.extend(column_values)
        else:
            feature.bytes_list.SetInParent()
            feature.bytes_list.value.extend(column_values)
    return example


class _ParseFile(beam.DoFn):
    """A file path -> the tf.Examples of its valid rows; every skipped row counted by reason."""

    def __init__(self, options: Dict[str, Any], columns: List[str]):
        super().__init__()
        self._options_dict = options
        self._columns = columns

    def setup(self):
        self._options = options_lib.TextOptions.from_dict(self._options_dict)
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


class TextToExample(beam.PTransform):
    """Reads the delimited text files of one split pattern and makes tf.Examples (the base class's contract:
    `TextToExample(exec_properties, split_pattern)` applied to the pipeline)."""

    def __init__(self, exec_properties: Mapping[str, Any], split_pattern: str):
        super().__init__()
        self._options = options_lib.from_exec_properties(exec_properties)
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
            | "ParseFiles" >> beam.ParDo(_ParseFile(self._options.to_dict(), columns))
        )


class _CountExamples(beam.DoFn):
    def setup(self):
        self._written = beam.metrics.Metrics.counter(METRICS_NAMESPACE, EXAMPLES_WRITTEN)

    def process(self, example):
        self._written.inc()
        yield example


def _step_matches(step: str, prefix: str) -> bool:
    return step == prefix or step.startswith(prefix + "/")


def summary_from_counters(
    counters: Iterable[Any],
    input_config: example_gen_pb2.Input,
    output_config: example_gen_pb2.Output,
    options: options_lib.TextOptions,
) -> Dict[str, Any]:
    """The summary of a run from its `TextExampleGen` Beam counters (MetricResult objects).

    {"options": {...}, "examples": N, "skipped": {reason: N}, "skipped_total": N,
     "input_splits": {name: {"pattern", "files", "records", "examples", "blank_lines", "skipped": {...},
                             "skipped_total", "truncated_fields", "empty_fields", "field_boms_stripped"}},
     "splits": {output split: {"examples": N}}}
    Input and output splits are the same unless `output_config` hash-partitions one input into several.
    """
    partitioned = bool(output_config.split_config.splits)
    inputs = {split.name: (_INPUT_STEP if partitioned else f"{_INPUT_STEP}[{split.name}]", split.pattern)
              for split in input_config.splits}
    output_names = example_gen_utils.generate_output_split_names(input_config, output_config)
    values: Dict[str, Dict[str, int]] = {}
    for result in counters:
        value = result.committed if result.committed is not None else result.attempted
        step = result.key.step or ""
        values.setdefault(step, {})
        values[step][result.key.metric.name] = values[step].get(result.key.metric.name, 0) + int(value or 0)

    def total(prefix: str, name: str) -> int:
        return sum(counts.get(name, 0) for step, counts in values.items() if _step_matches(step, prefix))

    summary: Dict[str, Any] = {"options": options.to_dict(), "input_splits": {}, "splits": {}}
    for name, (prefix, pattern) in inputs.items():
        entry: Dict[str, Any] = {"pattern": pattern}
        entry.update({counter: total(prefix, counter) for counter in parsing.VOLUME})
        entry["skipped"] = {reason: total(prefix, reason) for reason in parsing.SKIP_REASONS}
        entry["skipped_total"] = sum(entry["skipped"].values())
        entry.update({note: total(prefix, note) for note in parsing.NOTES})
        summary["input_splits"][name] = entry
    for name in output_names:
        summary["splits"][name] = {"examples": total(f"{_COUNT_STEP}[{name}]", EXAMPLES_WRITTEN)}
    summary["examples"] = sum(entry["examples"] for entry in summary["input_splits"].values())
    summary["skipped"] = {reason: sum(entry["skipped"][reason] for entry in summary["input_splits"].values())
                          for reason in parsing.SKIP_REASONS}
    summary["skipped_total"] = sum(summary["skipped"].values())
    return summary


class Executor(BaseExampleGenExecutor):
    """FileBasedExampleGen executor for delimited text; options from `custom_config` (TextOptions)."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return TextToExample

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        splits = super().GenerateExamplesByBeam(pipeline, exec_properties)
        return {name: examples | f"{_COUNT_STEP}[{name}]" >> beam.ParDo(_CountExamples())
                for name, examples in splits.items()}

    def _make_beam_pipeline(self):
        # Kept so that Do can read the counters once the base class's `with` block has run the pipeline.
        self._pipeline = super()._make_beam_pipeline()
        return self._pipeline

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        options = options_lib.from_exec_properties(exec_properties)  # a bad option fails before Beam starts
        self._pipeline = None
        super().Do(input_dict, output_dict, exec_properties)

        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input())
        output_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output())
        counters = self._counters()
        if counters is None:
            logging.warning("TextExampleGen: the Beam runner reported no metrics; %s is not written "
                            "(the counts are in the runner's own metrics)", SUMMARY_FILE)
            return
        summary = summary_from_counters(counters, input_config, output_config, options)
        with fileio.open(os.path.join(examples.uri, SUMMARY_FILE), "w") as f:
            f.write(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))
        examples.set_int_custom_property("text_example_gen_examples", summary["examples"])
        examples.set_int_custom_property("text_example_gen_skipped", summary["skipped_total"])
        logging.info("TextExampleGen summary: %s", json.dumps(summary, sort_keys=True))

    def _counters(self) -> Optional[List[Any]]:
        result = getattr(self._pipeline, "result", None)
        if result is None:
            return None
        try:
            return list(result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"])
        except (NotImplementedError, AttributeError, KeyError) as e:  # runners without metrics support
            logging.warning("TextExampleGen: cannot read Beam metrics: %s", e)
            return None


def read_summary(examples_uri: str) -> Dict[str, Any]:
    """The summary a TextExampleGen run wrote into its Examples artifact (give the artifact's URI)."""
    with fileio.open(os.path.join(examples_uri, SUMMARY_FILE), "r") as f:
        return json.loads(f.read())

