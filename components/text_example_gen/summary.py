"""TextExampleGen's run summary: what each input split held, what was skipped and why, what each output split got.

After the Beam job, the executor reads the `TextExampleGen` counters (`beam_pipeline`) from the pipeline
result and writes `text_example_gen_summary.json` at the root of the Examples artifact (next to the `Split-*`
folders) with `write_summary`: the counts per input split (from the counters' step names) and the examples
written per output split. See `summary_from_counters` for the layout; `read_summary` reads it back.
"""

import json
import os
from typing import Any, Dict, Iterable

from tfx.components.example_gen import utils as example_gen_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

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
) -> Dict[str, Any]:
    """The summary of a run from its `TextExampleGen` Beam counters (MetricResult objects).

    {"options": {...}, "examples": N, "skipped": {reason: N}, "skipped_total": N,
     "input_splits": {name: {"pattern", "files", "records", "examples", "blank_lines", "skipped": {...},
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
        entry: Dict[str, Any] = {"pattern": pattern}
        entry.update({counter: total(prefix, counter) for counter in parsing.VOLUME})
        entry["skipped"] = {reason: total(prefix, reason) for reason in parsing.SKIP_REASONS}
        entry["skipped_total"] = sum(entry["skipped"].values())
        entry.update({note: total(prefix, note) for note in parsing.NOTES})
        summary["input_splits"][name] = entry
    for name in output_names:
        written = total(f"{beam_pipeline.COUNT_STEP}[{name}]", beam_pipeline.EXAMPLES_WRITTEN)
        summary["splits"][name] = {"examples": written}
    summary["examples"] = sum(entry["examples"] for entry in summary["input_splits"].values())
    summary["skipped"] = {reason: sum(entry["skipped"][reason] for entry in summary["input_splits"].values())
                          for reason in parsing.SKIP_REASONS}
    summary["skipped_total"] = sum(summary["skipped"].values())
    return summary


def write_summary(examples_uri: str, summary: Dict[str, Any]) -> None:
    """Writes `summary` as SUMMARY_FILE at the root of the Examples artifact at `examples_uri`."""
    with fileio.open(os.path.join(examples_uri, SUMMARY_FILE), "w") as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))


def read_summary(examples_uri: str) -> Dict[str, Any]:
    """The summary a TextExampleGen run wrote into its Examples artifact (give the artifact's URI)."""
    with fileio.open(os.path.join(examples_uri, SUMMARY_FILE), "r") as f:
        return json.loads(f.read())

