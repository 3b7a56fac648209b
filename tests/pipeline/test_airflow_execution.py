"""The generated Airflow DAG, executed by Airflow itself: `airflow dags test` (no scheduler daemon, SQLite
metadata in a temporary AIRFLOW_HOME) on the sample data, twice.

1. span 1: every task succeeds and the model is pushed as version 1;
2. span 2 arrives: the next run reads it, warm-starts from version 1 and pushes version 2.

The gate is loosened (the runs are a few dozen steps): this checks the orchestration, not model quality,
which tests/pipeline/test_local_pipeline.py covers.
"""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from pipeline import airflow_dag, sample_data
from pipeline.configs import PipelineConfig
from serving import contract, layout

pytestmark = pytest.mark.slow

DAG_ID = "albert-airflow"
# The tasks every run has (the DAG's components: tests/pipeline/test_airflow_dag.py checks the wiring).
TASKS = {"TextExampleGen", "StatisticsGen", "SchemaGen", "StrictExampleValidator", "SentencePieceVocab",
         "VocabTransform", "Trainer", "latest_blessed_model_resolver", "Evaluator", "ServingPusher"}
RUN_TIMEOUT_S = 30 * 60  # one run takes about 5 minutes on 2 busy cores


def _config(root) -> PipelineConfig:
    return PipelineConfig().with_overrides({
        "orchestration.pipeline_name": DAG_ID,
        "data.path": str(root / "data"),
        "orchestration.output_dir": str(root / "out"),
        "orchestration.beam_num_workers": 1,  # small data: Beam's worker start-up would dominate
        "serving.serving_dir": str(root / "serving"),
        "vocabulary.size": 200,
        "training.train_steps": 60,
        "training.checkpoint_every_steps": 30,
        "evaluation.min_score": 0.0,
        "evaluation.max_score_drop": 1.0,
    })


def _airflow_env(root) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(root / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        # The DAG file imports TFX and TensorFlow: over Airflow's default 30 s on 2 busy cores (README: Airflow).
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
    }


def _airflow(root, *args: str) -> None:
    """`airflow <args>` (this venv's Airflow) in a child process; its log goes to a file, its tail to a failure."""
    log = root / f"airflow-{'-'.join(args[:2])}-{args[-1]}.log"
    with open(log, "w", encoding="utf-8") as handle:
        code = subprocess.run([sys.executable, "-m", "airflow", *args], env=_airflow_env(root), stdout=handle,
                              stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S).returncode
    assert code == 0, f"airflow {' '.join(args)} exited {code}:\n" + log.read_text(encoding="utf-8")[-8000:]


def _task_states(root, logical_date: str) -> tuple:
    """(the DAG run's state, {task_id: state}) as Airflow recorded them in its metadata database."""
    with sqlite3.connect(root / "airflow_home" / "airflow.db") as db:
        (run_id, run_state), = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND execution_date LIKE ?",
            (DAG_ID, f"{logical_date}%")).fetchall()
        tasks = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                                (DAG_ID, run_id)).fetchall())
    return run_state, tasks


def _versions(root):
    return [v.version for v in layout.version_dirs(str(root / "serving" / "albert"))]


def _newest_examples_span(config: PipelineConfig) -> int:
    """The span of the newest ExampleGen output in ML Metadata (the Transform's Examples carry no span)."""
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(config.resolved().orchestration.metadata_path)) as m:
        examples = [a for a in m.store.get_artifacts_by_type("Examples") if "span" in a.custom_properties]
    return max(examples, key=lambda a: a.id).custom_properties["span"].int_value


def _export_metadata(root, version: int) -> dict:
    path = root / "serving" / "albert" / str(version) / contract.ASSETS_EXTRA_DIR / contract.METADATA_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def test_airflow_runs_the_dag_and_pushes_a_new_version_per_span(tmp_path):
    pytest.importorskip("airflow", reason="the [airflow] extra is not installed")  # make installs it
    root = tmp_path
    config = _config(root)
    sample_data.write_span(str(root / "data"), 1, train_rows=300, dev_rows=80)
    airflow_dag.write_dag_file(config, str(root / "dags" / "albert_dag.py"))
    _airflow(root, "db", "migrate")

    _airflow(root, "dags", "test", DAG_ID, "2026-01-02")
    run_state, tasks = _task_states(root, "2026-01-02")
    assert run_state == "success"
    assert TASKS <= set(tasks) and set(tasks.values()) == {"success"}, tasks
    assert _versions(root) == [1]
    v1 = root / "serving" / "albert" / "1"
    assert (v1 / "saved_model.pb").exists() and (v1 / contract.ASSETS_EXTRA_DIR / contract.VOCABULARY_FILE).exists()
    assert _export_metadata(root, 1)["model_name"] == "albert"
    assert _newest_examples_span(config) == 1

    sample_data.write_span(str(root / "data"), 2, train_rows=300, dev_rows=80)
    _airflow(root, "dags", "test", DAG_ID, "2026-01-03")
    run_state, tasks = _task_states(root, "2026-01-03")
    assert run_state == "success"
    assert TASKS <= set(tasks) and set(tasks.values()) == {"success"}, tasks
    assert _newest_examples_span(config) == 2  # the scheduled run picked up the new span
    assert _versions(root) == [1, 2]
    v2_metadata = _export_metadata(root, 2)
    assert v2_metadata["extra"]["warm_started_from"] == str(v1)  # from the served model
    assert v2_metadata["vocabulary_sha256"] == _export_metadata(root, 1)["vocabulary_sha256"]
