"""What our two ExampleGens (TextExampleGen, QaExampleGen) share around TFX's FileBasedExampleGen executor: a
count of the examples that reach each output split, and the Beam counters read back once the job has run.

Each ExampleGen's input PTransform counts what it reads and skips under its own Beam metrics namespace;
`CountingExampleGenExecutor` adds `CountExamples` (step "CountExamples[<split>]", counter `EXAMPLES_WRITTEN`)
to each output split, and `run_and_count` runs the base class's Beam job and returns the namespace's counters,
or None (after saying so) on a runner that reports no metrics.
"""

import json
import os
from typing import Any, Dict, List, Optional

import apache_beam as beam
from absl import logging
from apache_beam.metrics.metric import MetricsFilter
from tfx import types
from tfx.dsl.io import fileio
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor

EXAMPLES_WRITTEN = "examples_written"  # per output split, counted just before the base class writes it
COUNT_STEP = "CountExamples"  # our label for CountExamples ("CountExamples[split]" per output split)


class CountExamples(beam.DoFn):
    """Passes examples on, counting them (`EXAMPLES_WRITTEN` in `namespace`)."""

    def __init__(self, namespace: str):
        super().__init__()
        self._namespace = namespace

    def setup(self):
        self._written = beam.metrics.Metrics.counter(self._namespace, EXAMPLES_WRITTEN)

    def process(self, example):
        self._written.inc()
        yield example


class CountingExampleGenExecutor(BaseExampleGenExecutor):
    """A FileBasedExampleGen executor that counts each output split's examples. Subclasses set
    `COMPONENT_NAME` (for log lines) and `METRICS_NAMESPACE` (their input PTransform's counters)."""

    COMPONENT_NAME = ""
    METRICS_NAMESPACE = ""

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        splits = super().GenerateExamplesByBeam(pipeline, exec_properties)
        return {name: examples | f"{COUNT_STEP}[{name}]" >> beam.ParDo(CountExamples(self.METRICS_NAMESPACE))
                for name, examples in splits.items()}

    def _make_beam_pipeline(self):
        # Kept so that the counters can be read once the base class's `with` block has run the pipeline.
        self._pipeline = super()._make_beam_pipeline()
        return self._pipeline

    def run_and_count(self, input_dict: Dict[str, List[types.Artifact]],
                      output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any],
                      summary_file: str) -> Optional[List[Any]]:
        """The base class's Do (the Beam job, the examples written), then the job's counters of
        `METRICS_NAMESPACE`; None, with a warning naming `summary_file` (not written then), when the runner
        reports no metrics."""
        self._pipeline = None
        super().Do(input_dict, output_dict, exec_properties)
        counters = self._counters()
        if counters is None:
            logging.warning("%s: the Beam runner reported no metrics; %s is not written and max_skipped_fraction "
                            "is not checked (the counts are in the runner's own metrics)", self.COMPONENT_NAME,
                            summary_file)
        return counters

    def _counters(self) -> Optional[List[Any]]:
        result = getattr(self._pipeline, "result", None)
        if result is None:
            return None
        try:
            query = MetricsFilter().with_namespace(self.METRICS_NAMESPACE)
            return list(result.metrics().query(query)["counters"])
        except (NotImplementedError, AttributeError, KeyError) as e:  # runners without metrics support
            logging.warning("%s: cannot read Beam metrics: %s", self.COMPONENT_NAME, e)
            return None


# The run summary each ExampleGen writes at the root of its Examples artifact (its own file name and layout).

def write_summary(examples_uri: str, file_name: str, summary: Dict[str, Any]) -> None:
    with fileio.open(os.path.join(examples_uri, file_name), "w") as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))


def read_summary(examples_uri: str, file_name: str) -> Optional[Dict[str, Any]]:
    """The summary in the Examples artifact at `examples_uri`; None when there is none (another ExampleGen's
    artifact, or a runner without metrics)."""
    path = os.path.join(examples_uri, file_name)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.loads(f.read())
