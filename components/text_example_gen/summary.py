"""TextExampleGen's run summary: what each input split held, what was skipped and why, what each output split got.

After the Beam job, the executor reads the `TextExampleGen` counters (`beam_pipeline`) from the pipeline
result and writes `text_example_gen_summary.json` at the root of the Examples artifact (next to the `Split-*`
folders) with `write_summary`: the counts per input split (from the counters' step names) and the examples
written per output split. See `summary_from_counters` for the layout; `read_summary` reads it back.
`counts_line` is the summary in one line (the run's progress and closing summary: `describe`), and
`skipped_rows_error` the one-line error of the splits that lost more rows than `max_skipped_fraction` allows.
"""

import os
from typing import Any, Dict, Iterable, Optional

from tfx.components.example_gen import utils as example_gen_utils
from tfx.proto import example_gen_pb2

from components import counted_example_gen, data_counts
from components.text_example_gen import beam_pipeline, parsing
from components.text_example_gen import spec as spec_lib

SUMMARY_FILE = "text_example_gen_summary.json"


def _step_matches(step: str, prefix: str) -> bool:
    return step == prefix or step.startswith(prefix + "/")


def summary_from_counters(
    counters: Iterable[Any],
    input_config: example_gen_pb2.Input,
    output_config: example_gen_pb2.Output,
    options: spec_lib.TextOptions,
    input_base: str = "",
) -> Dict[str, Any]:
    """The summary of a run from its `TextExampleGen` Beam counters (MetricResult objects).

    {"options": {...}, "examples": N, "skipped": {reason: N}, "skipped_total": N, "records": N, "truncated_fields": N,
     "input_splits": {name: {"pattern", "path" (input_base/pattern), "files", "records", "examples", "blank_lines", "skipped": {...},
                             "skipped_total", "truncated_fields", "empty_fields", "field_boms_stripped"}},
     "splits": {output split: {"examples": N}}}
    Input and output splits are the same unless `output_config` hash-partitions one input into several.
    """
    partitioned = bool(output_config.split_config.splits)
    inputs = {split.name: (beam_pipeline.INPUT_STEP if partitioned else f"{beam_pipeline.INPUT_STEP}[{split.name}]", split.pattern)
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
        entry: Dict[str, Any] = {"pattern": pattern, "path": os.path.join(input_base, pattern) if input_base else pattern}
        entry.update({counter: total(prefix, counter) for counter in parsing.VOLUME})
        entry["skipped"] = {reason: total(prefix, reason) for reason in parsing.SKIP_REASONS}
        entry["skipped_total"] = sum(entry["skipped"].values())
        entry.update({note: total(prefix, note) for note in parsing.NOTES})
        summary["input_splits"][name] = entry
    for name in output_names:
        written = total(f"{counted_example_gen.COUNT_STEP}[{name}]", counted_example_gen.EXAMPLES_WRITTEN)
        summary["splits"][name] = {"examples": written}
    summary["examples"] = sum(entry["examples"] for entry in summary["input_splits"].values())
    summary["skipped"] = {reason: sum(entry["skipped"][reason] for entry in summary["input_splits"].values())
                          for reason in parsing.SKIP_REASONS}
    summary["skipped_total"] = sum(summary["skipped"].values())
    for name in (parsing.RECORDS, parsing.TRUNCATED_FIELDS):
        summary[name] = sum(entry[name] for entry in summary["input_splits"].values())
    return summary


def counts_line(summary: Dict[str, Any]) -> str:
    """`read 3,404 rows, kept 3,400 (train 3,000, eval 400), skipped 4 (invalid_utf8 1, ...), truncated 1 (...)`."""
    splits = summary["input_splits"].values()
    records = sum(entry[parsing.RECORDS] for entry in splits)  # summaries of earlier runs lack the totals
    truncated = sum(entry[parsing.TRUNCATED_FIELDS] for entry in splits)
    written = ", ".join(f"{name} {split['examples']:,}" for name, split in summary["splits"].items())
    skipped = {reason: summary["skipped"].get(reason, 0) for reason in parsing.SKIP_REASONS}  # JSON sorts keys
    line = data_counts.counts_text(
        records, summary["examples"], skipped, truncated, kept_detail=written,
        truncated_detail=f"fields cut to {summary['options']['max_field_chars']:,} characters")
    notes = data_counts.reasons_text({note.replace("_", " "): sum(entry[note] for entry in splits)
                                      for note in (parsing.EMPTY_FIELDS, parsing.BLANK_LINES)})
    return line + (f"; {notes}" if notes else "")


def skipped_rows_error(summary: Dict[str, Any], max_fraction: float) -> Optional[str]:
    """One line naming each input split (its files) that lost more than `max_fraction` of its rows, with the
    counts per reason; None when none did."""
    error = data_counts.skipped_fraction_error(
        {entry["path"]: (entry[parsing.RECORDS], entry["skipped"]) for entry in summary["input_splits"].values()},
        max_fraction)
    return f"TextExampleGen: {error}" if error else None


def write_summary(examples_uri: str, summary: Dict[str, Any]) -> None:
    """Writes `summary` as SUMMARY_FILE at the root of the Examples artifact at `examples_uri`."""
    counted_example_gen.write_summary(examples_uri, SUMMARY_FILE, summary)


def read_summary(examples_uri: str) -> Dict[str, Any]:
    """The summary a TextExampleGen run wrote into its Examples artifact (give the artifact's URI)."""
    summary = counted_example_gen.read_summary(examples_uri, SUMMARY_FILE)
    if summary is None:
        raise FileNotFoundError(f"no {SUMMARY_FILE} in the Examples artifact at {examples_uri}")
    return summary


def describe(examples_uri: str) -> Optional[str]:
    """`counts_line` of the Examples artifact at `examples_uri`; None when TextExampleGen did not write it."""
    summary = counted_example_gen.read_summary(examples_uri, SUMMARY_FILE)
    return None if summary is None else counts_line(summary)
