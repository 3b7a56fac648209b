"""The pipeline's Beam steps under Beam's PortableRunner against the DirectRunner: the cost of portability.

On the bundled sample: the PortableRunner with the embedded job service and LOOPBACK workers (the Fn API
path that the Flink and Spark runners take) against the default DirectRunner (`orchestration.beam_num_workers`
2, multi_processing).

Each round runs the pipeline's data half with TFX's LocalDagRunner in a fresh output directory (no cache):
TextExampleGen, StatisticsGen, SchemaGen, StrictExampleValidator, SentencePieceVocab, PretrainingDataGen and
VocabTransform, built by `create_pipeline` with the runner's `orchestration.beam_args()`. The Evaluator, the
one other Beam step, needs a trained model and is left out. Runners alternate, the first of a round
changing each round; per-step seconds come from each execution's ML Metadata timestamps, the total is the
run's wall time. On small data the DirectRunner's cost is mostly starting its worker processes (each imports
TensorFlow) for every Beam pipeline; LOOPBACK workers are threads of the submitting process.

    python -m benchmarks.beam_portability            # the recorded run (data/sample, 2 rounds)
    python -m benchmarks.beam_portability --quick    # a smoke run on 200 rows, one round, writes nothing
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List  # noqa: E402

warnings.filterwarnings("ignore")

from benchmarks import report  # noqa: E402
from benchmarks.harness import CpuShare  # noqa: E402

BENCHMARK = "beam_portability"
SAMPLE = report.REPO_ROOT / "data" / "sample"
# The steps that run before the Trainer (the Beam ones and the two cheap ones between them).
STEPS = ("TextExampleGen", "StatisticsGen", "SchemaGen", "StrictExampleValidator", "SentencePieceVocab",
         "PretrainingDataGen", "VocabTransform")
RUNNERS = {
    "direct": {},  # the config's default: DirectRunner, 2 workers, multi_processing
    "portable": {"orchestration.beam_runner": "portable",
                 "orchestration.beam_pipeline_args": ["--job_endpoint=embed", "--environment_type=LOOPBACK"]},
}
ROUNDS = 2
QUICK_ROWS = 200


def quick_data(directory: Path) -> Path:
    """The sample's first QUICK_ROWS train rows and a fifth as many dev rows, as span-1."""
    span = directory / "span-1"
    span.mkdir(parents=True)
    for name, rows in (("train.tsv", QUICK_ROWS), ("dev.tsv", QUICK_ROWS // 5)):
        lines = (SAMPLE / "span-1" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (span / name).write_text("".join(lines[:rows + 1]), encoding="utf-8")
    return directory


def run_beam_steps(data: Path, output_dir: Path, overrides: Dict) -> Dict[str, float]:
    """Runs STEPS of the pipeline for `data` with the runner `overrides` name; {step: seconds, "total": ...}."""
    from tfx import v1 as tfx
    from tfx.orchestration import metadata

    from pipeline.configs import PipelineConfig
    from pipeline.pipeline import create_pipeline

    config = PipelineConfig().with_overrides({
        "data.path": str(data), "orchestration.output_dir": str(output_dir), "orchestration.enable_cache": False,
        "serving.serving_dir": str(output_dir / "serving"), "pretraining.enabled": True, **overrides}).resolved()
    connection = metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path)
    full = create_pipeline(config, metadata_connection_config=connection)
    # The data half only: the components already carry the runner's Beam args (the full pipeline gave them);
    # their links to the steps left out go, or TFX's compiler refuses the pipeline.
    components = [component for component in full.components if component.id in STEPS]
    assert sorted(component.id for component in components) == sorted(STEPS), [c.id for c in full.components]
    for component in components:
        for downstream in list(component.downstream_nodes):
            if downstream.id not in STEPS:
                component.remove_downstream_node(downstream)
    pipeline = tfx.dsl.Pipeline(pipeline_name=config.orchestration.pipeline_name,
                                pipeline_root=config.orchestration.pipeline_root, components=components,
                                enable_cache=False, metadata_connection_config=connection)
    started = time.perf_counter()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    seconds = {"total": time.perf_counter() - started}
    with metadata.Metadata(connection) as store:
        for execution in store.store.get_executions():
            for context in store.store.get_contexts_by_execution(execution.id):
                step = context.name.rsplit(".", 1)[-1]
                if context.name.startswith(f"{config.orchestration.pipeline_name}.") and step in STEPS:
                    seconds[step] = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a smoke run on {QUICK_ROWS} rows, one round, writes nothing")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else ROUNDS
    times: Dict[str, List[Dict[str, float]]] = {name: [] for name in RUNNERS}
    load = CpuShare().start()
    with tempfile.TemporaryDirectory(prefix="albert-tfx-beam-portability-") as root:
        data = quick_data(Path(root) / "data") if args.quick else SAMPLE
        for round_index in range(rounds):
            order = list(RUNNERS) if round_index % 2 == 0 else list(reversed(RUNNERS))  # neither always goes first
            for name in order:
                seconds = run_beam_steps(data, Path(root) / f"{name}-{round_index}", RUNNERS[name])
                times[name].append(seconds)
                print(f"round {round_index + 1}/{rounds} {name}: {seconds['total']:.1f} s "
                      f"({', '.join(f'{step} {seconds.get(step, 0):.1f}' for step in STEPS)})", flush=True)
    other_load = load.stop()

    median = {name: {key: statistics.median(run[key] for run in runs) for key in ["total", *STEPS]}
              for name, runs in times.items()}
    ratio = median["direct"]["total"] / median["portable"]["total"]
    print(f"PortableRunner {median['portable']['total']:.1f} s vs DirectRunner {median['direct']['total']:.1f} s "
          f"(direct / portable = {ratio:.2f})")
    if args.quick:
        return 0
    results = {
        "beam_portability_rounds": rounds,
        "beam_portability_data": "data/sample (span-1: 3,000 train + 400 dev rows)",
        "beam_portability_ratio_direct_over_portable": round(ratio, 3),
        "beam_portability_other_cpu_load": other_load,
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine(),
        "machine_cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    for name in RUNNERS:
        results[f"beam_portability_{name}_args"] = _args(RUNNERS[name])
        for key, value in median[name].items():
            results[f"beam_portability_{name}_{key}_s"] = round(value, 2)
    report.write_results(BENCHMARK, results)
    report.update_benchmarks_md(BENCHMARK, [report.Row(
        benchmark=BENCHMARK,
        metric="the pipeline's steps up to the Trainer on data/sample, wall time: PortableRunner (embedded job "
               "service, LOOPBACK) vs DirectRunner (2 workers, multi_processing)",
        ours=f"{median['portable']['total']:.1f} s",
        peer=f"{median['direct']['total']:.1f} s",
        ratio=f"{ratio:.2f}",
        command="python -m benchmarks.beam_portability",
        date=results["date"],
    )])
    return 0


def _args(overrides: Dict) -> List[str]:
    from pipeline.configs import PipelineConfig

    return PipelineConfig().with_overrides(overrides).orchestration.beam_args()


if __name__ == "__main__":
    sys.exit(main())
