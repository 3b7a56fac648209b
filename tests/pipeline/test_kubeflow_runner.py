"""The compiled Kubeflow Pipelines v2 JSON, read with the pipeline-spec protos that kfp ships (strict
json_format: an unknown or misplaced field fails): every component, the DAG's edges, the image and its
commands, the parameters, a Dataflow configuration's Beam args in every Beam step; and the Dockerfile that
the image is built from."""

import ast
import dataclasses
import importlib
import importlib.util
import json
import re
import sys

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from albert_tfx import cli
from pipeline import evaluation
from pipeline.configs import PipelineConfig
from tests.support import REPO_ROOT

IMAGE = "us-docker.pkg.dev/acme/ml/albert-tfx:1.2.3"
ROOT = "gs://acme-ml/albert-tfx"
OVERRIDES = {
    "orchestration.kubeflow_image": IMAGE, "orchestration.kubeflow_pipeline_root": ROOT,
    "orchestration.pipeline_name": "albert-prod", "serving.serving_dir": "gs://acme-ml/serving",
    "training.train_steps": "321", "evaluation.min_accuracy": "0.83", "vocabulary.size": "5000",
    "pretraining.enabled": "true", "orchestration.beam_runner": "dataflow",
}
DATAFLOW_ARGS = ["--project=acme-ml", "--region=europe-west4", "--temp_location=gs://acme-ml/tmp",
                 "--staging_location=gs://acme-ml/staging", f"--sdk_container_image={IMAGE}"]
BEAM_STEPS = {"TextExampleGen", "StatisticsGen", "SentencePieceVocab", "PretrainingDataGen", "VocabTransform",
              "Evaluator"}


@dataclasses.dataclass(frozen=True)
class Compiled:
    config: PipelineConfig
    job: pipeline_spec_pb2.PipelineJob
    spec: pipeline_spec_pb2.PipelineSpec
    deployment: pipeline_spec_pb2.PipelineDeploymentConfig

    def executor(self, task_name: str) -> pipeline_spec_pb2.PipelineDeploymentConfig.ExecutorSpec:
        component = self.spec.components[self.spec.root.dag.tasks[task_name].component_ref.name]
        return self.deployment.executors[component.executor_label]

    def parameters(self, task_name: str) -> dict:
        """{name: constant value} of a task's parameters."""
        values = {}
        for name, parameter in self.spec.root.dag.tasks[task_name].inputs.parameters.items():
            constant = parameter.runtime_value.constant_value
            if constant.WhichOneof("value"):
                values[name] = getattr(constant, constant.WhichOneof("value"))
        return values


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """`albert-tfx compile --target kubeflow` of a Dataflow configuration, parsed into the KFP protos as
    TFX's KubeflowV2DagRunner builds them: a PipelineJob whose pipelineSpec is a PipelineSpec whose
    deploymentSpec is a PipelineDeploymentConfig (both Structs in the outer message)."""
    path = tmp_path_factory.mktemp("kfp") / "pipeline.json"
    argv = ["compile", "--target", "kubeflow", "--output-file", str(path)]
    for key, value in OVERRIDES.items():
        argv += ["--set", f"{key}={value}"]
    assert cli.main(argv + [f"--beam-arg={arg}" for arg in DATAFLOW_ARGS]) == 0
    job = json_format.Parse(path.read_text(), pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(json_format.MessageToDict(job.pipeline_spec), pipeline_spec_pb2.PipelineSpec())
    deployment = json_format.ParseDict(json_format.MessageToDict(spec.deployment_spec),
                                       pipeline_spec_pb2.PipelineDeploymentConfig())
    config = PipelineConfig().with_overrides({**OVERRIDES, "orchestration.beam_pipeline_args": DATAFLOW_ARGS})
    return Compiled(config, job, spec, deployment)


def test_the_job_is_the_pipeline_of_the_config_and_every_reference_resolves(compiled):
    assert compiled.spec.pipeline_info.name == "albert-prod" and compiled.job.display_name == "albert-prod"
    assert compiled.job.runtime_config.gcs_output_directory.startswith(ROOT)
    assert compiled.spec.schema_version == "2.0.0" and compiled.spec.sdk_version.startswith("tfx-")
    for name, task in compiled.spec.root.dag.tasks.items():
        component = compiled.spec.components[task.component_ref.name]
        assert component.executor_label in compiled.deployment.executors, name
        for upstream in task.dependent_tasks:
            assert upstream in compiled.spec.root.dag.tasks, name


def test_every_component_is_a_task(compiled):
    tasks = set(compiled.spec.root.dag.tasks)
    for name in ("TextExampleGen", "StatisticsGen", "SchemaGen", "StrictExampleValidator", "SentencePieceVocab",
                 "PretrainingDataGen", "Pretrainer", "VocabTransform", "Trainer", "Evaluator", "ServingPusher"):
        assert name in tasks
    assert any(name.startswith("latest_blessed_model_resolver") for name in tasks)


def test_the_dag_edges(compiled):
    def upstream(name):
        return set(compiled.spec.root.dag.tasks[name].dependent_tasks)

    assert "TextExampleGen" in upstream("StatisticsGen")
    assert {"StatisticsGen", "SchemaGen"} <= upstream("StrictExampleValidator")
    assert {"StrictExampleValidator", "TextExampleGen"} <= upstream("SentencePieceVocab")
    assert {"SentencePieceVocab", "SchemaGen", "TextExampleGen"} <= upstream("VocabTransform")
    assert "SentencePieceVocab" in upstream("PretrainingDataGen") and "PretrainingDataGen" in upstream("Pretrainer")
    assert {"VocabTransform", "SchemaGen", "Pretrainer"} <= upstream("Trainer")
    assert "Trainer" in upstream("Evaluator")
    assert any(name.startswith("latest_blessed_model_resolver") for name in upstream("Evaluator"))
    assert {"Trainer", "Evaluator"} <= upstream("ServingPusher")


def test_every_container_runs_our_image_with_commands_it_installs(compiled):
    """The image installs albert-tfx and its pins (Dockerfile), as this environment does: every module a
    container or its driver runs with `python -m` is importable here."""
    containers = 0
    for name in compiled.spec.root.dag.tasks:
        executor = compiled.executor(name)
        if not executor.HasField("container"):
            continue
        containers += 1
        assert executor.container.image == IMAGE, name
        commands = [list(executor.container.command)]
        if executor.container.HasField("lifecycle"):
            commands.append(list(executor.container.lifecycle.pre_cache_check.command))
        for command in commands:
            assert command[:2] == ["python", "-m"], name
            assert importlib.util.find_spec(command[2]) is not None, (name, command)
    assert containers >= 10


def _executor_class(args):
    module, _, name = args[list(args).index("--executor_class_path") + 1].rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_beam_step_runs_on_dataflow_and_nothing_on_the_direct_runner(compiled):
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor

    expected = compiled.config.orchestration.beam_args()
    assert expected == ["--runner=DataflowRunner", *DATAFLOW_ARGS]
    beam_steps = set()
    for name in compiled.spec.root.dag.tasks:
        executor = compiled.executor(name)
        if not executor.HasField("container"):
            continue
        arg_lists = [list(executor.container.args), list(executor.container.lifecycle.pre_cache_check.args)]
        for args in arg_lists:
            assert not [arg for arg in args if arg.startswith("--direct_")], name
        if issubclass(_executor_class(arg_lists[0]), BaseBeamExecutor):
            beam_steps.add(name)
            assert arg_lists[0][-len(expected):] == expected, name
    assert beam_steps >= BEAM_STEPS
    example_gen = compiled.executor("TextExampleGen").container.lifecycle.pre_cache_check  # its driver reads the input too
    assert list(example_gen.args)[-len(expected):] == expected


def test_the_parameters_come_from_the_config(compiled):
    import tensorflow_model_analysis as tfma

    trainer = compiled.parameters("Trainer")
    assert json.loads(trainer["train_args"])["num_steps"] == 321
    custom = json.loads(trainer["custom_config"])
    assert custom["training_config"]["train_steps"] == 321
    assert custom["warm_start_from_served"] == "gs://acme-ml/serving/albert"
    assert compiled.parameters("SentencePieceVocab")["vocab_size"] == 5000
    eval_config = json_format.Parse(compiled.parameters("Evaluator")["eval_config"], tfma.EvalConfig())
    assert eval_config == evaluation.eval_config(compiled.config.evaluation)
    assert compiled.config.evaluation.min_accuracy == 0.83
    from tfx.proto import pusher_pb2

    destination = json_format.Parse(compiled.parameters("ServingPusher")["push_destination"],
                                    pusher_pb2.PushDestination())
    assert destination.filesystem.base_directory == "gs://acme-ml/serving"
    transform = json.loads(compiled.parameters("VocabTransform")["custom_config"])
    assert transform["text_features"] == ["text"] and transform["label_feature"] == "label"


def test_a_qa_pipeline_compiles_with_the_qa_components_and_their_parameters(tmp_path):
    """Task qa on remote JSON: QaExampleGen (train.json/dev.json), the vocabulary over questions and contexts,
    the Transform's windows, a qa Trainer and QaEvaluator with the qa section's gate, and an InfraValidator that
    only loads the model (TFX's requests are built from tf.Examples; the qa signature takes strings)."""
    path = tmp_path / "qa.json"
    argv = ["compile", "--target", "kubeflow", "--output-file", str(path), "--task", "qa", "--data", "gs://acme-ml/squad",
            "--set", "training.train_steps=500", "--set", "qa.min_f1=0.55", "--set", "qa.doc_stride=96"]
    assert cli.main(argv) == 0
    job = json_format.Parse(path.read_text(), pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(json_format.MessageToDict(job.pipeline_spec), pipeline_spec_pb2.PipelineSpec())
    compiled = Compiled(None, job, spec, None)
    tasks = set(spec.root.dag.tasks)
    assert {"QaExampleGen", "VocabTransform", "Trainer", "Evaluator", "InfraValidator", "ServingPusher"} <= tasks
    assert "TextExampleGen" not in tasks
    input_config = json.loads(compiled.parameters("QaExampleGen")["input_config"])
    assert [split["pattern"] for split in input_config["splits"]] == ["train.json", "dev.json"]
    assert json.loads(compiled.parameters("SentencePieceVocab")["text_features"]) == ["question", "context"]
    transform = json.loads(compiled.parameters("VocabTransform")["custom_config"])
    assert transform["task"] == "qa" and transform["doc_stride"] == 96
    trainer = json.loads(compiled.parameters("Trainer")["custom_config"])
    assert trainer["training_config"]["task"] == "qa" and trainer["training_config"]["train_steps"] == 500
    assert "warm_start_from_served" not in trainer  # a classifier's weights: not for a qa model
    evaluator = compiled.parameters("Evaluator")
    assert evaluator["min_f1"] == 0.55 and evaluator["max_f1_drop"] == 0.01
    assert "request_spec" not in compiled.parameters("InfraValidator")


def test_a_missing_dataflow_option_is_one_line_and_writes_nothing(capsys, tmp_path):
    target = tmp_path / "pipeline.json"
    argv = ["compile", "--target", "kubeflow", "--output-file", str(target), "--set",
            "orchestration.beam_runner=dataflow"]
    assert cli.main(argv + [f"--beam-arg={arg}" for arg in DATAFLOW_ARGS if not arg.startswith("--region")]) == 2
    err = capsys.readouterr().err
    assert "orchestration.beam_runner=dataflow needs --region" in err and err.count("\n") == 1
    assert not target.exists()


# --- the image ---------------------------------------------------------------------------------------------


def _dockerfile():
    return (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")


def _pin(package: str) -> str:
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(f"{package}=="):
            return line.split("==")[1]
    raise AssertionError(f"constraints.txt pins no {package}")


def test_the_image_installs_albert_tfx_with_the_pins_on_our_python():
    dockerfile = _dockerfile()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages[-1] == f"python:{python}-slim"  # the image's Python is the one setup.py requires and we test on
    assert f'python_requires=">={python}' in (REPO_ROOT / "setup.py").read_text()
    installs = re.findall(r"pip install ([^\\&\n]+)", dockerfile)
    project = [line.split() for line in installs if line.split()[-1] == "'.[s3]'"]  # s3:// roots in every step
    assert project and "--constraint" in project[0]
    assert project[0][project[0].index("--constraint") + 1] == "constraints.txt"
    assert all("constraints.txt" in line for line in installs)  # the packaging tools too


def test_the_image_is_a_beam_sdk_container_of_the_pinned_beam():
    """Dataflow/Flink/Spark workers start it with Beam's boot program, which must be the pinned SDK's."""
    dockerfile = _dockerfile()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    sdk = re.search(r"^FROM apache/beam_python(\S+)_sdk:(\S+) AS (\S+)", dockerfile, re.MULTILINE)
    assert sdk and sdk.group(1) == python and sdk.group(2) == _pin("apache-beam")
    assert re.search(rf"^COPY --from={sdk.group(3)} /opt/apache/beam /opt/apache/beam$", dockerfile, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["/opt/apache/beam/boot"\]$', dockerfile, re.MULTILINE)


def test_the_build_context_holds_every_package_setup_installs_and_no_venv():
    setup = ast.parse((REPO_ROOT / "setup.py").read_text())
    find_packages = next(node for node in ast.walk(setup) if isinstance(node, ast.Call)
                         and getattr(node.func, "id", "") == "find_packages")
    include = ast.literal_eval(next(k.value for k in find_packages.keywords if k.arg == "include"))
    packages = {pattern.rstrip("*") for pattern in include}
    rules = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # everything out (.venv, outputs, data), then what `pip install .` reads back in
    admitted = {rule[1:] for rule in rules if rule.startswith("!")}
    assert packages | {"setup.py", "pyproject.toml", "README.md", "constraints.txt"} <= admitted
    assert all((REPO_ROOT / name).exists() for name in admitted)
