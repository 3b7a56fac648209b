"""The generated Airflow DAG file, loaded by Airflow's own DagBag (the [airflow] extra is installed by make)."""

import os

import pytest

from pipeline import airflow_dag
from pipeline.configs import PipelineConfig


@pytest.fixture()
def dag_bag(tmp_path, monkeypatch):
    pytest.importorskip("airflow", reason="the [airflow] extra is not installed")  # make installs it
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow_home"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    config = PipelineConfig().with_overrides({
        "orchestration.pipeline_name": "albert-nightly", "orchestration.airflow_schedule": "30 2 * * 1-5",
        "orchestration.output_dir": str(tmp_path / "out"), "serving.serving_dir": str(tmp_path / "serving")})
    path = airflow_dag.write_dag_file(config, str(tmp_path / "dags" / "albert_dag.py"))
    from airflow.models import DagBag

    return DagBag(dag_folder=os.path.dirname(path), include_examples=False)


def test_airflow_loads_the_dag_with_the_schedule_and_every_component(dag_bag):
    assert dag_bag.import_errors == {}
    assert sorted(dag_bag.dags) == ["albert-nightly"]
    dag = dag_bag.dags["albert-nightly"]  # not get_dag(): that also asks Airflow's metadata database
    assert str(dag.schedule_interval) == "30 2 * * 1-5"
    assert dag.catchup is False and dag.max_active_runs == 1
    tasks = {task.task_id: task for task in dag.tasks}
    for name in ("TextExampleGen", "StatisticsGen", "SchemaGen", "StrictExampleValidator", "SentencePieceVocab",
                 "VocabTransform", "Trainer", "latest_blessed_model_resolver", "Evaluator", "ServingPusher"):
        assert name in tasks
    assert "VocabTransform" in tasks["Trainer"].upstream_task_ids
    assert {"Trainer", "Evaluator"} <= tasks["ServingPusher"].upstream_task_ids
    assert "StrictExampleValidator" in tasks["SentencePieceVocab"].upstream_task_ids
