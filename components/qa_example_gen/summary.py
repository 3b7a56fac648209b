"""QaExampleGen's run summary: what each input split held, what was skipped or dropped and why, what each output
split got.

After the Beam job, the executor reads the `QaExampleGen` counters (`beam_pipeline`) from the pipeline result
and writes `qa_example_gen_summary.json` at the root of the Examples artifact (next to the `Split-*` folders)
with `write_summary`; `read_summary` reads it back. `counts_line` is the summary in one line (the run's
progress and closing summary: `describe`), and `skipped_questions_error` the one-line error of the splits
that lost more questions than `max_skipped_fraction` allows.
"""

import os
from typing import Any, Dict, Iterable, Optional

from tfx.components.example_gen import utils as example_gen_utils
from tfx.proto import example_gen_pb2

from components import counted_example_gen, data_counts
from components.qa_example_gen import beam_pipeline, parsing
from components.qa_example_gen import spec as spec_lib

SUMMARY_FILE = "qa_example_gen_summary.json"


def _step_matches(step: str, prefix: str) -> bool:
    return step == prefix or step.startswith(prefix + "/")


def split_rule(output_config: example_gen_pb2.Output) -> Optional[Dict[str, Any]]:
    """How one input was split into output splits ({"partition_feature_name", "buckets": {split: n}}), or None."""
    split_config = output_config.split_config
    if not split_config.splits:
        return None
    return {"partition_feature_name": split_config.partition_feature_name,
            "buckets": {split.name: split.hash_buckets for split in split_config.splits}}


def summary_from_counters(
    counters: Iterable[Any],
    input_config: example_gen_pb2.Input,
    output_config: example_gen_pb2.Output,
    options: spec_lib.QaOptions,
    input_base: str = "",
) -> Dict[str, Any]:
    """The summary of a run from its `QaExampleGen` Beam counters (MetricResult objects).

    {"options": {...}, "split_rule": None | {"partition_feature_name", "buckets"},
     "questions": N (read), "examples": N (kept), "skipped": {reason: N}, "skipped_total": N,
     "answers": N, "answers_kept": N, "answers_dropped": {reason: N}, "answers_dropped_total": N,
     "input_splits": {name: {"pattern", "path" (input_base/pattern), "files", "articles", "paragraphs",
                             "questions", "examples", "answers", "answers_kept", "skipped", "skipped_total",
                             "answers_dropped", "answers_dropped_total", "untitled_articles",
                             "impossible_questions"}},
     "splits": {output split: {"examples": N}}}
    Input and output splits are the same unless `output_config` splits one input by article.
    """
    partitioned = bool(output_config.split_config.splits)
    inputs = {split.name: (beam_pipeline.INPUT_STEP if partitioned else f"{beam_pipeline.INPUT_STEP}[{split.name}]",
                           split.pattern)
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

    summary: Dict[str, Any] = {"options": options.to_dict(), "split_rule": split_rule(output_config),
                               "input_splits": {}, "splits": {}}
    for name, (prefix, pattern) in inputs.items():
        entry: Dict[str, Any] = {"pattern": pattern, "path": os.path.join(input_base, pattern) if input_base else pattern}
        entry.update({counter: total(prefix, counter) for counter in parsing.VOLUME})
        entry["skipped"] = {reason: total(prefix, reason) for reason in parsing.SKIP_REASONS}
        entry["skipped_total"] = sum(entry["skipped"].values())
        entry["answers_dropped"] = {reason: total(prefix, reason) for reason in parsing.ANSWER_DROP_REASONS}
        entry["answers_dropped_total"] = sum(entry["answers_dropped"].values())
        entry.update({note: total(prefix, note) for note in parsing.NOTES})
        summary["input_splits"][name] = entry
    for name in output_names:
        summary["splits"][name] = {"examples": total(f"{counted_example_gen.COUNT_STEP}[{name}]", counted_example_gen.EXAMPLES_WRITTEN)}
    entries = list(summary["input_splits"].values())
    for name in (parsing.QUESTIONS, parsing.EXAMPLES, parsing.ANSWERS, parsing.ANSWERS_KEPT):
        summary[name] = sum(entry[name] for entry in entries)
    for key, reasons in (("skipped", parsing.SKIP_REASONS), ("answers_dropped", parsing.ANSWER_DROP_REASONS)):
        summary[key] = {reason: sum(entry[key][reason] for entry in entries) for reason in reasons}
        summary[f"{key}_total"] = sum(summary[key].values())
    return summary


def counts_line(summary: Dict[str, Any]) -> str:
    """`read 3,219 questions, kept 3,2.. (eval 600, train 2,6..), skipped 9 (no_valid_answer 9), truncated 0;
    answers dropped 200 of 9,657 (bad_answer_start 200); untitled articles 2`."""
    written = ", ".join(f"{name} {split['examples']:,}" for name, split in summary["splits"].items())
    skipped = {reason: summary["skipped"].get(reason, 0) for reason in parsing.SKIP_REASONS}  # JSON sorts keys
    line = data_counts.counts_text(summary[parsing.QUESTIONS], summary[parsing.EXAMPLES], skipped, 0,
                                   unit="questions", kept_detail=written)
    dropped = {reason: summary["answers_dropped"].get(reason, 0) for reason in parsing.ANSWER_DROP_REASONS}
    line += f"; answers dropped {sum(dropped.values()):,} of {summary[parsing.ANSWERS]:,}"
    reasons = data_counts.reasons_text(dropped)
    line += f" ({reasons})" if reasons else ""
    notes = data_counts.reasons_text({note.replace("_", " "): sum(entry[note] for entry in summary["input_splits"].values())
                                      for note in parsing.NOTES})
    return line + (f"; {notes}" if notes else "")


def skipped_questions_error(summary: Dict[str, Any], max_fraction: float) -> Optional[str]:
    """One line naming each input split (its files) that lost more than `max_fraction` of its questions, with
    the counts per reason; None when none did."""
    error = data_counts.skipped_fraction_error(
        {entry["path"]: (entry[parsing.QUESTIONS], entry["skipped"]) for entry in summary["input_splits"].values()},
        max_fraction, unit="questions")
    return f"QaExampleGen: {error}" if error else None


def write_summary(examples_uri: str, summary: Dict[str, Any]) -> None:
    """Writes `summary` as SUMMARY_FILE at the root of the Examples artifact at `examples_uri`."""
    counted_example_gen.write_summary(examples_uri, SUMMARY_FILE, summary)


def read_summary(examples_uri: str) -> Dict[str, Any]:
    """The summary a QaExampleGen run wrote into its Examples artifact (give the artifact's URI)."""
    summary = counted_example_gen.read_summary(examples_uri, SUMMARY_FILE)
    if summary is None:
        raise FileNotFoundError(f"no {SUMMARY_FILE} in the Examples artifact at {examples_uri}")
    return summary


def describe(examples_uri: str) -> Optional[str]:
    """`counts_line` of the Examples artifact at `examples_uri`; None when QaExampleGen did not write it."""
    summary = counted_example_gen.read_summary(examples_uri, SUMMARY_FILE)
    return None if summary is None else counts_line(summary)
