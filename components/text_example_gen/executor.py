"""TextExampleGen's executor, the TFX glue: a `BaseExampleGenExecutor` whose input PTransform is
`beam_pipeline.TextToExample`, and the run summary written after the Beam job (`summary`).

The base class resolves the input and output configs (splits, `{SPAN}` patterns, hash partitioning) and writes
the gzipped TFRecords; `components.counted_example_gen` adds a count of each output split. `Do`
checks the options first (a bad option fails before Beam starts), then reads the counters from the pipeline
result, writes `text_example_gen_summary.json` and puts two totals on the artifact as custom properties. Then a
split that lost more than `max_skipped_fraction` of its rows fails the run (`data_counts.TooManySkippedRowsError`,
one line naming the files and the counts per reason): the artifact of a failed execution is never published, so
nothing downstream reads it, and the summary stays in its directory for inspection.
"""

import json
from typing import Any, Dict, List

import apache_beam as beam
from absl import logging
from tfx import types
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import data_counts
from components.counted_example_gen import CountingExampleGenExecutor
from components.text_example_gen import beam_pipeline
from components.text_example_gen import spec as spec_lib
from components.text_example_gen import summary as summary_lib


class Executor(CountingExampleGenExecutor):
    """FileBasedExampleGen executor for delimited text; options from `custom_config` (TextOptions)."""

    COMPONENT_NAME = "TextExampleGen"
    METRICS_NAMESPACE = beam_pipeline.METRICS_NAMESPACE

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return beam_pipeline.TextToExample

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        options = spec_lib.from_exec_properties(exec_properties)  # a bad option fails before Beam starts
        counters = self.run_and_count(input_dict, output_dict, exec_properties, summary_lib.SUMMARY_FILE)
        if counters is None:
            return
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input())
        output_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output())
        summary = summary_lib.summary_from_counters(counters, input_config, output_config, options,
                                                    exec_properties[standard_component_specs.INPUT_BASE_KEY])
        summary_lib.write_summary(examples.uri, summary)
        examples.set_int_custom_property("text_example_gen_examples", summary["examples"])
        examples.set_int_custom_property("text_example_gen_skipped", summary["skipped_total"])
        logging.info("TextExampleGen summary: %s", json.dumps(summary, sort_keys=True))
        error = summary_lib.skipped_rows_error(summary, options.max_skipped_fraction)
        if error:
            raise data_counts.TooManySkippedRowsError(error)
