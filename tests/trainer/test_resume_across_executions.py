"""The Trainer's checkpoints outlive its TFX execution: a re-execution of the same work (a pod restarted, a task
retried, `albert-tfx run` again after kill -9) finds them under the pipeline root and resumes; they are removed
once the model is exported. The whole pipeline killed at every step: tests/pipeline/test_kill_anywhere.py."""

import json
import os
import types

import pytest

from pipeline import local_runner
from serving import contract
from tests.serving.support import tiny_task
from tests.trainer.support.fn_args import fake_fn_args
from trainer import run_fn as run_fn_lib
from trainer.callbacks import PreemptionCheckpoint
from text_contract.transform_options import SENTENCEPIECE_MODEL_PATH_KEY, TEXT_FEATURES_KEY
from trainer.train import BEST_WEIGHTS_FILE, METRICS_FILE, PROGRESS_FILE

STEPS, INTERVAL = 20, 5
KILLED_AFTER = 2 * INTERVAL  # the checkpoint the killed execution wrote last


def _custom_config(task, root, **training):
    """A classifier Trainer's custom_config as pipeline/pipeline.py builds it (the pipeline root included)."""
    return {
        run_fn_lib.TRAINING_CONFIG_KEY: {
            "task": "classify", "global_batch_size": 8, "train_steps": STEPS, "checkpoint_every_steps": INTERVAL,
            "warmup_steps": 1, "learning_rate": 1e-3, "log_every_steps": 1, "strategy": "default",
            "select_best_metric": "val_accuracy", **training},
        TEXT_FEATURES_KEY: [tiny_task.TEXT_FEATURE],
        SENTENCEPIECE_MODEL_PATH_KEY: task.spm_model,
        run_fn_lib.PIPELINE_ROOT_KEY: str(root / "pipeline_root"),
    }


def _execution(root, custom_config, task, name, **changes):
    """The fn_args of one TFX execution: its own model_run and model directories under `root / name`."""
    values = {"train_files": task.train_files, "eval_files": task.eval_files, "transform_output": task.transform_dir,
              **changes}
    return fake_fn_args(root / name, custom_config, **values)


def test_the_checkpoint_directory_is_keyed_by_what_decides_the_result_not_by_the_execution(tmp_path):
    # Paths only: nothing is read.
    task = types.SimpleNamespace(spm_model="/v/spm.model", train_files="/t/Split-train/*",
                                 eval_files="/t/Split-eval/*", transform_dir="/t/transform_graph/7")
    custom_config = _custom_config(task, tmp_path)
    first = _execution(tmp_path, custom_config, task, "execution-1")

    def resume_dir(fn_args, config=custom_config, **decided):
        return run_fn_lib.resume_dir(fn_args, config, "classify", **decided)

    chosen = resume_dir(first)
    assert os.path.dirname(chosen) == os.path.join(custom_config[run_fn_lib.PIPELINE_ROOT_KEY],
                                                   run_fn_lib.RESUME_ROOT_DIR)
    assert os.path.basename(chosen).startswith("classify-")
    assert resume_dir(_execution(tmp_path, custom_config, task, "execution-2")) == chosen  # another execution
    moved_root = {**custom_config, run_fn_lib.PIPELINE_ROOT_KEY: str(tmp_path / "elsewhere")}
    assert os.path.basename(resume_dir(first, moved_root)) == os.path.basename(chosen)

    other_work = [
        resume_dir(first, _custom_config(task, tmp_path, learning_rate=2e-3)),  # the training config
        resume_dir(_execution(tmp_path, custom_config, task, "execution-1", train_steps=20)),  # TrainArgs
        resume_dir(_execution(tmp_path, custom_config, task, "execution-1", transform_output=str(tmp_path / "t2"))),
        resume_dir(_execution(tmp_path, custom_config, task, "execution-1", train_files=str(tmp_path / "other*"))),
        resume_dir(_execution(tmp_path, custom_config, task, "execution-1", base_model=str(tmp_path / "pretrained"))),
        resume_dir(first, warm_started_from="/serving/albert/3"),  # the served version a warm start read
    ]
    assert len(set(other_work + [chosen])) == len(other_work) + 1

    no_root = {k: v for k, v in custom_config.items() if k != run_fn_lib.PIPELINE_ROOT_KEY}
    assert resume_dir(first, no_root) is None  # outside a pipeline: in model_dir, as train() does


class _Killed(Exception):
    """Stands in for kill -9 right after a checkpoint: the process's state on disk is the same."""


@pytest.mark.slow  # ~40 s: the tiny task's Transform, two trainings and an export
def test_a_killed_execution_is_resumed_by_the_next_and_its_checkpoints_removed_after_the_export(
        tmp_path, monkeypatch, capfd):
    task = tiny_task.tiny_task()
    custom_config = _custom_config(task, tmp_path)
    killed = _execution(tmp_path, custom_config, task, "execution-1")
    save = PreemptionCheckpoint.on_epoch_end

    def save_then_die(self, epoch, logs=None):
        save(self, epoch, logs)
        if (epoch + 1) * INTERVAL == KILLED_AFTER:
            raise _Killed()

    monkeypatch.setattr(PreemptionCheckpoint, "on_epoch_end", save_then_die)
    with pytest.raises(_Killed):
        run_fn_lib.run_fn(killed)
    monkeypatch.undo()
    resume = run_fn_lib.resume_dir(killed, custom_config, "classify", warm_started_from=None)
    assert os.path.exists(os.path.join(resume, "checkpoints", f"ckpt-{KILLED_AFTER}.index"))
    assert not os.path.exists(os.path.join(killed.model_run_dir, "checkpoints"))
    with open(os.path.join(killed.model_run_dir, PROGRESS_FILE)) as handle:
        assert json.load(handle)["step"] == KILLED_AFTER  # progress.json stays in the execution's model_run
    capfd.readouterr()

    again = _execution(tmp_path, custom_config, task, "execution-2")  # TFX: a new execution id, a new model_run
    run_fn_lib.run_fn(again)
    assert f"resuming from the checkpoint at step {KILLED_AFTER} of {STEPS}" in capfd.readouterr().err
    with open(os.path.join(again.model_run_dir, METRICS_FILE)) as handle:
        metrics = json.load(handle)
    assert (metrics["resumed_from_step"], metrics["final_step"], metrics["steps_this_run"]) == (
        KILLED_AFTER, STEPS, STEPS - KILLED_AFTER)
    assert metrics["optimizer_iterations"] == STEPS  # the optimizer's state came back with the weights
    assert os.path.exists(os.path.join(again.model_run_dir, BEST_WEIGHTS_FILE))  # model_run keeps its record
    assert metrics["selected"]["step"] in range(INTERVAL, STEPS + 1, INTERVAL)
    # Finished work: its checkpoints are gone, the export is there, and the summary says where it resumed.
    assert not os.path.exists(resume)
    assert os.listdir(os.path.dirname(resume)) == []
    extra = contract.read_metadata(again.serving_model_dir).extra
    assert extra[run_fn_lib.RESUMED_FROM_STEP_KEY] == KILLED_AFTER
    record = {**extra[run_fn_lib.TRAINING_SUMMARY_KEY], "resumed_from_step": extra[run_fn_lib.RESUMED_FROM_STEP_KEY]}
    assert f", resumed at step {KILLED_AFTER} of {STEPS};" in local_runner._training_line(record)


def test_the_pipeline_hands_its_root_to_both_trainers_on_every_runner():
    from pipeline import kubeflow_runner
    from pipeline import pipeline as pipeline_lib
    from pipeline.configs import PipelineConfig

    config = PipelineConfig().with_overrides({"pretraining.enabled": True}).resolved()
    for config, root in ((config, config.orchestration.pipeline_root),  # local and Airflow
                         (kubeflow_runner.kubeflow_config(config), "gs://my-bucket/albert-tfx/pipeline_root")):
        trainers = [c for c in pipeline_lib.create_pipeline(config).components if c.id in ("Trainer", "Pretrainer")]
        assert len(trainers) == 2
        for trainer in trainers:
            assert json.loads(trainer.exec_properties["custom_config"])[run_fn_lib.PIPELINE_ROOT_KEY] == root, trainer.id
