"""The local runner (`make run`, `albert-tfx run`): LocalDagRunner, sqlite ML Metadata in the output
directory, the Beam steps on `orchestration.beam_runner` (by default Beam's DirectRunner on both cores; a
Flink, Spark or portable job service, or Dataflow, with `--beam-arg`), progress per component, and a closing
summary.

    python -m pipeline.local_runner [--config FILE]    # or: albert-tfx run ...
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from components.class_metrics_evaluator import chance as evaluator_chance
from components.class_metrics_evaluator import gate as evaluator_gate
from components.qa_evaluator import gate as qa_gate
from components.serving_pusher import CANARY_FAILURE_PROPERTY
from pipeline import inputs, interrupts
from pipeline.configs import PipelineConfig
from text_contract import storage

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
    # The classifier Trainer's budget (trainer.train.TRAINING_SUMMARY_KEYS); {} when there is no export.
    training: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # The Evaluator's gate: the majority-class predictor's scores and why not blessed; None before it had one.
    gate: Optional[evaluator_gate.GateReport] = None
    # Task qa's gate instead (QaEvaluator): exact match and F1, the last blessed model's, and why not blessed.
    qa_gate: Optional[qa_gate.GateReport] = None
    # Why the canary before the push blocked it (serving/canary.py); None when it passed or did not run.
    canary_failure: Optional[str] = None
    # What the data steps read, kept, skipped by reason and truncated, and the labels: "<component>: <counts>".
    data: List[str] = dataclasses.field(default_factory=list)

    def lines(self) -> List[str]:
        lines = [f"pipeline finished in {self.seconds / 60:.1f} min; outputs in {self.output_dir}"]
        if self.span is not None:
            lines.append(f"data span: {self.span}")
        lines += self.data
        if self.training:
            lines.append(_training_line(self.training))
        if self.metrics:
            lines.append("eval metrics: " + _metrics_text(self.metrics))
        if self.baseline_metrics:
            lines.append("baseline (last blessed) metrics: " + _metrics_text(self.baseline_metrics))
        if self.gate is not None:  # its last line says whether blessed, and why not
            lines += self.gate.lines()
        elif self.qa_gate is not None:
            lines.append(qa_gate.describe(self.qa_gate))
        else:
            lines.append("blessed: " + {True: "yes", False: "no (the model did not pass the thresholds)",
                                        None: "unknown"}[self.blessed])
        if self.pushed:
            lines.append(f"pushed: version {self.pushed_version} -> {self.pushed_destination}")
        elif self.canary_failure:
            lines.append(f"pushed: no, the canary failed (the serving directory is unchanged): {self.canary_failure}")
        else:
            lines.append("pushed: no (the serving directory is unchanged)")
        return lines


class _Progress:
    """Stands in for the `absl.logging` module inside TFX's local_dag_runner: "Component X is running." /
    "Component X is finished." become progress lines, and every call still reaches absl.

    A logging handler would not do: Beam and TensorFlow reset absl's verbosity while components run, after
    which absl drops INFO records before any handler sees them.
    """

    def __init__(self, absl_logging, total: int, report: Callable[[str], None],
                 describe: Callable[[str], List[str]] = lambda name: []):
        self._absl_logging, self.total, self.report = absl_logging, total, report
        self.describe = describe  # a finished component -> what it did with the data (`component_data_lines`)
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
            details = "; ".join(self.describe(name))
            self.report(f"[{len(self.finished)}/{self.total}] {name} done ({took:.0f}s)" + (f": {details}" if details else ""))


def _training_line(training: Dict[str, Any]) -> str:
    line = f"training: {training['final_step']} of {training['planned_steps']} planned steps"
    if training.get("epochs") is not None:
        line += f" ({training['epochs']:.2f} epochs of {training['train_examples']:,} examples)"
    if training.get("max_seq_length"):
        line += f" at sequence length {training['max_seq_length']}"
    if training.get("stopped_early"):
        line += ", stopped early"
    if training.get("resumed_from_step"):  # an execution killed or preempted before, whose checkpoints it found
        line += f", resumed at step {training['resumed_from_step']} of {training['planned_steps']}"
    selected = training.get("selected")
    if selected:
        return line + f"; kept the checkpoint of step {selected['step']} ({selected['metric']} {selected['value']:.4f})"
    return line + "; kept the last step's weights"


def _training_record(store, pipeline_name: str) -> Dict[str, Any]:
    """The budget record in the newest classifier export's metadata (a Model artifact without one is the
    Pretrainer's or an imported checkpoint); {} when there is none."""
    import tensorflow as tf
    from tfx.utils import path_utils

    from serving import contract
    from trainer.run_fn import RESUMED_FROM_STEP_KEY, TRAINING_CONFIG_KEY, TRAINING_SUMMARY_KEY

    context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    models = [] if context is None else [
        a for a in store.get_artifacts_by_context(context.id)
        if store.get_artifact_types_by_id([a.type_id])[0].name == "Model"]
    for model in sorted(models, key=lambda a: a.id, reverse=True):
        export_dir = path_utils.serving_model_path(model.uri)
        if tf.io.gfile.exists(contract.metadata_path(export_dir)):
            extra = contract.read_metadata(export_dir).extra
            record = dict(extra.get(TRAINING_SUMMARY_KEY) or {})
            if record:  # the length the Transform padded to (derived from the data unless fixed)
                record["max_seq_length"] = (extra.get(TRAINING_CONFIG_KEY) or {}).get("max_seq_length")
                record["resumed_from_step"] = extra.get(RESUMED_FROM_STEP_KEY)
            return record
    return {}


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


def _describers() -> Dict[str, List[Callable[[Any], Optional[str]]]]:
    """ML Metadata artifact type -> the functions that say, in one line, what the component that wrote such an
    artifact did with the data (the first that answers is used; each is its component's own)."""
    from components import artifacts
    from components.pretraining_data import executor as pretraining_data
    from components.qa_example_gen import summary as qa_example_gen
    from components.sentencepiece_vocab import training as vocabulary
    from components.strict_example_validator import executor as example_validator
    from components.text_example_gen import summary as example_gen

    return {
        "Examples": [lambda a: example_gen.describe(a.uri), lambda a: qa_example_gen.describe(a.uri),
                     lambda a: pretraining_data.describe(a.uri)],
        artifacts.SentencePieceModel.TYPE_NAME: [lambda a: vocabulary.describe(a.uri)],
        "ExampleAnomalies": [lambda a: example_validator.describe(a.custom_properties)],
    }


def _data_lines(store, pipeline_name: str, node_id: str, describers) -> List[str]:
    """The descriptions of the outputs of `node_id`'s newest completed (or cached) execution."""
    from ml_metadata.proto import metadata_store_pb2
    from tfx.dsl.compiler import compiler_utils, constants

    context = store.get_context_by_type_and_name(constants.NODE_CONTEXT_TYPE_NAME,
                                                 compiler_utils.node_context_name(pipeline_name, node_id))
    done = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    executions = [] if context is None else [
        e for e in store.get_executions_by_context(context.id) if e.last_known_state in done]
    if not executions:
        return []
    newest = max(executions, key=lambda e: e.id)
    outputs = [event.artifact_id for event in store.get_events_by_execution_ids([newest.id])
               if event.type == metadata_store_pb2.Event.OUTPUT]
    lines = []
    for artifact in store.get_artifacts_by_id(outputs):
        for describe in describers.get(store.get_artifact_types_by_id([artifact.type_id])[0].name, []):
            text = describe(artifact)
            if text:
                lines.append(text)
                break
    return lines


def component_data_lines(config: PipelineConfig, node_id: str) -> List[str]:
    """What component `node_id` read, kept, skipped by reason and truncated (or found in the labels), from its
    newest execution's outputs in ML Metadata; [] for a component that reads no rows."""
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path)) as m:
        return _data_lines(m.store, config.orchestration.pipeline_name, node_id, _describers())


def _describe_safely(config: PipelineConfig, node_id: str) -> List[str]:
    try:
        return component_data_lines(config, node_id)
    except Exception as error:  # a progress line must never fail the run it reports on; the summary retries
        from absl import logging as absl_logging

        absl_logging.warning("no data counts for %s: %s", node_id, error)
        return []


def _eval_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """{"candidate"|"baseline": {metric: value}} for the overall slice of a ModelEvaluation."""
    return {"baseline" if model_name == BASELINE_MODEL_NAME else "candidate": metrics
            for model_name, metrics in evaluator_gate.overall_metrics(evaluation_uri).items()}


def _qa_scores(scores: Optional[qa_gate.ModelScores]) -> Dict[str, float]:
    return {} if scores is None else {"exact_match": scores.exact_match, "f1": scores.f1}


def summarize(config: PipelineConfig, started: float, components: List[str], span: Optional[int]) -> RunSummary:
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path)) as m:
        store = m.store
        name = config.orchestration.pipeline_name
        blessing = _latest(store, "ModelBlessing", name)
        evaluation = _latest(store, "ModelEvaluation", name)
        pushed = _latest(store, "PushedModel", name)
        training = _training_record(store, name)
        describers = _describers()
        data = [f"{node}: {line}" for node in components for line in _data_lines(store, name, node, describers)]
    qa_report = qa_gate.read_report(evaluation.uri) if evaluation is not None else None
    if qa_report is not None:
        metrics = {"candidate": _qa_scores(qa_report.candidate), "baseline": _qa_scores(qa_report.baseline)}
    else:
        metrics = _eval_metrics(evaluation.uri) if evaluation is not None else {}
    blessed = _property(blessing, "blessed")
    return RunSummary(
        output_dir=config.orchestration.output_dir, span=span,
        blessed=None if blessed is None else bool(blessed),
        metrics=metrics.get("candidate", {}), baseline_metrics=metrics.get("baseline", {}),
        pushed=bool(_property(pushed, "pushed")), pushed_destination=_property(pushed, "pushed_destination"),
        pushed_version=_property(pushed, "pushed_version"), seconds=time.time() - started, components=components,
        training=training, qa_gate=qa_report,
        gate=evaluator_gate.read_report(evaluation.uri) if evaluation is not None and qa_report is None else None,
        canary_failure=_property(pushed, CANARY_FAILURE_PROPERTY), data=data)


def _metrics_text(metrics: Dict[str, float]) -> str:
    """A model's own metrics; the majority-class predictor's figures are the gate's lines."""
    return ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()) if not evaluator_chance.is_majority_figure(k))


def _stage(progress: _Progress) -> str:
    running = [name for name in progress.started if name not in progress.finished]
    if running:
        return f"during {running[-1]}"
    return f"after {progress.finished[-1]}" if progress.finished else "before the first component"


def _quiet_beam_workers() -> None:
    """Beam's worker processes are fresh interpreters: they print every FutureWarning of the Google client
    libraries TFX pins, and the job service relays their WARN logs (missing python-snappy, ...). Neither
    says anything about the run; errors still come through."""
    import warnings

    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore::FutureWarning"]))
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)


# TFX warnings that say nothing about a run, each printed once per component. On an object store a directory
# exists only while it holds files, so TFX's clean-up finds an executor's empty temp and working directories gone
# and logs "not found" with the whole execution info (about 300 lines a component on S3); the channel resolver
# logs that it ignores the output-key predicate the compiler adds, which the launcher applies itself.
_TFX_NOISE = ("execution_info.tmp_dir %s is not found", "stateful_working_dir %s is not found",
              "ArtifactQuery.property_predicate is not supported", "ContextQuery.property_predicate is not supported")


class _DropTfxNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(_TFX_NOISE))


def _quiet_tfx() -> None:
    absl_logger = logging.getLogger("absl")
    if not any(isinstance(existing, _DropTfxNoise) for existing in absl_logger.filters):
        absl_logger.addFilter(_DropTfxNoise())


def run(config: PipelineConfig, report: Callable[[str], None] = print) -> RunSummary:
    """Runs the pipeline of `config` locally; raises ConfigError/InputError before starting on bad input."""
    from tfx import v1 as tfx
    from tfx.orchestration import metadata

    from pipeline.pipeline import create_pipeline

    config = config.resolved()
    for path in config.storage_paths():  # the steps run in this process (and in Beam workers: pipeline.py)
        storage.register_filesystem(path)
    plan = inputs.plan_input(config.data, qa=config.is_qa)
    storage.makedirs(config.orchestration.output_dir)
    os.makedirs(os.path.dirname(config.orchestration.metadata_path), exist_ok=True)
    pipeline = create_pipeline(
        config, plan,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(config.orchestration.metadata_path))
    names = [component.id for component in pipeline.components]
    span = f" (span {plan.span})" if plan.span is not None else ""
    report(f"running {len(names)} components on {plan.input_base}{span}; outputs in {config.orchestration.output_dir}")
    from tfx.orchestration.local import local_dag_runner

    _quiet_beam_workers()
    _quiet_tfx()
    absl_logging = local_dag_runner.logging
    local_dag_runner.logging = progress = _Progress(absl_logging, len(names), report,
                                                    describe=lambda name: _describe_safely(config, name))
    started = time.time()
    try:
        with interrupts.stage(lambda: _stage(progress)):  # what an interrupt line names
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
    with interrupts.StopOnSignals("pipeline.local_runner"):  # a signal: one line, exit 130/143
        summary = run(config)
        print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
