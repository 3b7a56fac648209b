"""A Beam step whose DoFn keeps TensorFlow functions in Beam's `shared.Shared` (as tf.Transform and TFMA do)
ends without "Exception ignored in: ... AtomicFunction.__del__" tracebacks, in the DirectRunner's worker
processes (the `--beam_plugins` of `OrchestrationConfig.beam_args`) and in this process (`albert-tfx run`
imports `pipeline.beam_worker`)."""

import os
import subprocess
import sys

from pipeline.configs import PipelineConfig

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Run twice: in the run's worker processes, then in this process (multi_threading), where the CLI's import of
# pipeline.beam_worker is what registers the exit hook.
_PIPELINE = """
import json, sys
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared


class AddOne(beam.DoFn):
    def __init__(self):
        self._handle = shared.Shared()

    def setup(self):
        def load():
            import tensorflow as tf

            class Holder:  # Shared keeps weak references: an object, not a tuple (defined here: workers
                pass       # cannot look up this script's globals)

            holder = Holder()
            holder.fn = tf.function(lambda x: x + 1.0).get_concrete_function(tf.TensorSpec([], tf.float32))
            return holder
        self._holder = self._handle.acquire(load)

    def process(self, x):
        yield float(self._holder.fn(float(x)).numpy())


IN_PROCESS = ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]
for args in (json.loads(sys.argv[1]), IN_PROCESS):
    if args is IN_PROCESS:
        import pipeline.beam_worker  # noqa: F401  (what albert-tfx run imports)
    with beam.Pipeline(options=PipelineOptions(args)) as p:
        p | beam.Create(range(4)) | beam.ParDo(AddOne()) | beam.combiners.ToList() | beam.Map(
            lambda values: print("values", sorted(values), flush=True))
"""


def test_beam_workers_and_the_run_exit_without_tensorflow_teardown_tracebacks():
    import json

    args = PipelineConfig().orchestration.beam_args()
    assert "--direct_running_mode=multi_processing" in args  # the default: worker processes
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO_ROOT}
    result = subprocess.run([sys.executable, "-c", _PIPELINE, json.dumps(args)], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("values [1.0, 2.0, 3.0, 4.0]") == 2  # both runs used the functions
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]
