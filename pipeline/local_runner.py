"""The local runner (`make run`, `albert-tfx run`): LocalDagRunner, sqlite ML Metadata in the output
directory, Beam's DirectRunner on both cores, progress per component, and a closing summary.

    python -m pipeline.local_runner [--config FILE]    # or: albert-tfx run ...
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from typing import Callable, Dict, List, Optional

from pipeline import inputs
from pipeline.configs import PipelineConfig

BASELINE_MODEL_NAME = "baseline"  # TFMA's name for the Evaluator's baseline_model
_COMPONENT_EVENT = re.compile(r"Component (\S+) is (running|finished)\.")


@dataclasses.dataclass
class RunSummary:
    """What the run ended with (read back from ML Metadata)."""

    output_dir: str
    span: Optional[int]
    blessed: Optional[bool]
    metrics: Dict[str, float]
    baseline_metrics: Dict[str, float]
    pushed: bool
    pushed_destination: Optional[str]
    pushed_version: Optional[str]
    seconds: float
    components: List[str]

    def lines(self) -> List[str]:
        lines = [f"pipeline finished in {self.seconds / 60:.1f} min; outputs in {self.output_dir}"]
        if self.span is not None:
            lines.append(f"data span: {self.span}")
        if self.metrics:
            lines.append("eval metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(self.metrics.items())))
        if self.baseline_metrics:
            lines.append("baseline (last blessed) metrics: "
                         + ", ".join(f"{k} {v:.4f}" for k, v in sorted(self.baseline_metrics.items())))
        lines.append("blessed: " + {True: "yes", False: "no (the model did not pass the thresholds)",
                                    None: "unknown"}[self.blessed])
        if self.pushed:
            lines.append(f"pushed: version {self.pushed_version} -> {self.pushed_destination}")
        else:
            lines.append("pushed: no (the serving directory is unchanged)")
        return lines


class _Progress:
    """Stands in for the `absl.logging` module inside TFX's local_dag_runner: "Component X is running." /
    "Component X is finished." become progress lines, and every call still reaches absl.

    A logging handler would not do: Beam and TensorFlow reset absl's verbosity while components run, after
    which absl drops INFO records before any handler sees them.
    """

    def __init__(self, absl_logging, total: int, report: Callable[[str], None]):
        self._absl_logging, self.total, self.report = absl_logging, total, report
        self.started: Dict[str, float] = {}
        self.finished: List[str] = []

    def __getattr__(self, name):
        return getattr(self._absl_logging, name)

    def info(self, message, *args, **kwargs):
        self._absl_logging.info(message, *args, **kwargs)
        try:
            text = message % args if args else str(message)
        except (TypeError, ValueError):
            return
        match = _COMPONENT_EVENT.search(text)
        if not match:
            return
        name, event = match.groups()
        if event == "running":
            self.started[name] = time.time()
            self.report(f"[{len(self.finished) + 1}/{self.total}] {name} ...")
        else:
            self.finished.append(name)
            took = time.time() - self.started.get(name, time.time())
            self.report(f"[{len(self.finished)}/{self.total}] {name} done ({took:.0f}s)")


def _latest(store, type_name: str, pipeline_name: str):
    """The newest artifact of `type_name` in this pipeline's context (None before the first)."""
    context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if context is None:
        return None
    artifacts = [a for a in store.get_artifacts_by_context(context.id) if
                 store.get_artifact_types_by_id([a.type_id])[0].name == type_name]
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def _property(artifact, name: str):
    if artifact is None or name not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[name]
    return value.int_value if value.HasField("int_value") else value.string_value


def _eval_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """{"candidate"|"baseline": {metric: value}} for the overall slice of a ModelEvaluation."""
    import tensorflow_model_analysis as tfma

    found: Dict[str, Dict[str, float]] = {}
    for record in tfma.load_metrics(evaluation_uri):
        if record.slice_key.single_slice_keys:
            continue
        for key_and_value in record.metric_keys_and_values:
            key, value = key_and_value.key, key_and_value.value
            if key.HasField("sub_key") or key.is_diff or not value.HasField("double_value"):
                continue
            role = "baseline" if key.model_name == BASELINE_MODEL_NAME else "candidate"
            found.setdefault(role, {})[key.name] = value.double_value.value
    return found


def summarize(config: PipelineConfig, started: float, components: List[str], span: Optional[int]) -> RunSummary:
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path)) as m:
        store = m.store
        name = config.orchestration.pipeline_name
        blessing = _latest(store, "ModelBlessing", name)
        evaluation = _latest(store, "ModelEvaluation", name)
        pushed = _latest(store, "PushedModel", name)
    metrics = _eval_metrics(evaluation.uri) if evaluation is not None else {}
    blessed = _property(blessing, "blessed")
    return RunSummary(
        output_dir=config.orchestration.output_dir, span=span,
        blessed=None if blessed is None else bool(blessed),
        metrics=metrics.get("candidate", {}), baseline_metrics=metrics.get("baseline", {}),
        pushed=bool(_property(pushed, "pushed")), pushed_destination=_property(pushed, "pushed_destination"),
        pushed_version=_property(pushed, "pushed_version"), seconds=time.time() - started, components=components)


def _quiet_beam_workers() -> None:
    """Beam's worker processes are fresh interpreters: they print every FutureWarning of the Google client
    libraries TFX pins, and the job service relays their WARN logs (missing python-snappy, ...). Neither
    says anything about the run; errors still come through."""
    import logging
    import warnings

    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore::FutureWarning"]))
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)


def run(config: PipelineConfig, report: Callable[[str], None] = print) -> RunSummary:
    """Runs the pipeline of `config` locally; raises ConfigError/InputError before starting on bad input."""
    from tfx import v1 as tfx
    from tfx.orchestration import metadata

    from pipeline.pipeline import create_pipeline

    config = config.resolved()
    plan = inputs.plan_input(config.data)
    os.makedirs(config.orchestration.output_dir, exist_ok=True)
    pipeline = create_pipeline(
        config, plan,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path))
    names = [component.id for component in pipeline.components]
    span = f" (span {plan.span})" if plan.span is not None else ""
    report(f"running {len(names)} components on {plan.input_base}{span}; outputs in {config.orchestration.output_dir}")
    from tfx.orchestration.local import local_dag_runner

    _quiet_beam_workers()
    absl_logging = local_dag_runner.logging
    local_dag_runner.logging = _Progress(absl_logging, len(names), report)
    started = time.time()
    try:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    finally:
        local_dag_runner.logging = absl_logging
    return summarize(config, started, names, plan.span)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run the albert-tfx pipeline locally.")
    parser.add_argument("--config", help="a pipeline YAML file (default: the built-in defaults)")
    args = parser.parse_args(argv)
    config = PipelineConfig.from_yaml(args.config) if args.config else PipelineConfig()
    summary = run(config)
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
