"""The compiled Kubeflow Pipelines v2 JSON: every component, the DAG's edges, the image, the parameters."""

import json

import pytest

from pipeline import kubeflow_runner
from pipeline.configs import PipelineConfig

IMAGE = "us-docker.pkg.dev/acme/ml/albert-tfx:1.2.3"
ROOT = "gs://acme-ml/albert-tfx"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    config = PipelineConfig().with_overrides({
        "orchestration.kubeflow_image": IMAGE, "orchestration.kubeflow_pipeline_root": ROOT,
        "orchestration.pipeline_name": "albert-prod", "serving.serving_dir": "gs://acme-ml/serving",
        "training.train_steps": "321", "evaluation.min_accuracy": "0.83", "vocabulary.size": "5000"})
    path = kubeflow_runner.compile_pipeline(config, str(tmp_path_factory.mktemp("kfp") / "pipeline.json"))
    with open(path) as handle:
        return json.load(handle)


def _tasks(spec):
    return spec["pipelineSpec"]["root"]["dag"]["tasks"]


def _executor(spec, task):
    label = spec["pipelineSpec"]["components"][task["componentRef"]["name"]]["executorLabel"]
    return spec["pipelineSpec"]["deploymentSpec"]["executors"][label]


def _parameters(spec, task):
    """{name: constant value} of a task's parameters (KFP writes {"constantValue": {"stringValue": ...}})."""
    values = {}
    for name, parameter in task.get("inputs", {}).get("parameters", {}).items():
        constant = parameter.get("runtimeValue", {}).get("constantValue")
        if constant:
            [values[name]] = constant.values()
    return values


def test_every_component_is_a_task(compiled):
    tasks = set(_tasks(compiled))
    for name in ("TextExampleGen", "StatisticsGen", "SchemaGen", "StrictExampleValidator", "SentencePieceVocab",
                 "VocabTransform", "Trainer", "Evaluator", "ServingPusher"):
        assert name in tasks
    assert any(name.startswith("latest_blessed_model_resolver") for name in tasks)
    assert compiled["pipelineSpec"]["pipelineInfo"]["name"] == "albert-prod"
    assert compiled["runtimeConfig"]["gcsOutputDirectory"].startswith(ROOT)


def test_the_dag_edges(compiled):
    tasks = _tasks(compiled)

    def upstream(name):
        return set(tasks[name].get("dependentTasks", []))

    assert "TextExampleGen" in upstream("StatisticsGen")
    assert {"StatisticsGen", "SchemaGen"} <= upstream("StrictExampleValidator")
    assert {"StrictExampleValidator", "TextExampleGen"} <= upstream("SentencePieceVocab")
    assert {"SentencePieceVocab", "SchemaGen", "TextExampleGen"} <= upstream("VocabTransform")
    assert {"VocabTransform", "SchemaGen"} <= upstream("Trainer")
    assert "Trainer" in upstream("Evaluator")
    assert any(name.startswith("latest_blessed_model_resolver") for name in upstream("Evaluator"))
    assert {"Trainer", "Evaluator"} <= upstream("ServingPusher")


def test_every_executor_runs_our_image(compiled):
    for name, task in _tasks(compiled).items():
        executor = _executor(compiled, task)
        if "container" in executor:
            assert executor["container"]["image"] == IMAGE, name


def test_the_parameters_come_from_the_config(compiled):
    tasks = _tasks(compiled)
    trainer = _parameters(compiled, tasks["Trainer"])
    assert json.loads(trainer["train_args"])["num_steps"] == 321
    custom = json.loads(trainer["custom_config"])
    assert custom["training_config"]["train_steps"] == 321
    assert custom["warm_start_from_served"] == "gs://acme-ml/serving/albert"
    assert int(_parameters(compiled, tasks["SentencePieceVocab"])["vocab_size"]) == 5000
    assert "0.83" in _parameters(compiled, tasks["Evaluator"])["eval_config"]
    pusher = _parameters(compiled, tasks["ServingPusher"])
    assert "gs://acme-ml/serving" in pusher["push_destination"]
    transform = json.loads(_parameters(compiled, tasks["VocabTransform"])["custom_config"])
    assert transform["text_features"] == ["text"] and transform["label_feature"] == "label"
