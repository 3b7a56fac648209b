"""A training process SIGKILLed mid-run resumes from its last checkpoint by itself and ends at the
planned step, losing at most one checkpoint interval, with the same result as an uninterrupted run."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tests.trainer.support.synthetic_data import write_pretraining_records
from trainer.training_config import TrainingConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
STEPS, INTERVAL = 60, 10


def _config(directory, name):
    config = TrainingConfig(
        task="pretrain", model_dir=str(directory / name), preset="tiny", max_seq_length=64,
        max_predictions_per_seq=5, global_batch_size=16, train_steps=STEPS, checkpoint_every_steps=INTERVAL,
        warmup_steps=5, learning_rate=1e-3, log_every_steps=1, strategy="default", seed=7,
    )
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def _start(config_path, train_file):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "trainer.train", "--config", str(config_path), "--train", str(train_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _latest_checkpoint_step(model_dir):
    # The step a restart resumes from: the checkpoint state file's newest entry, which is written after a
    # checkpoint's files (a ckpt-N.index can exist a moment before the state file names it).
    import re

    state = model_dir / "checkpoints" / "checkpoint"
    try:
        match = re.search(r'^model_checkpoint_path: "(?:.*/)?ckpt-(\d+)"', state.read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(match.group(1)) if match else 0


def _finish(process, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_resumes_and_matches_an_uninterrupted_run(tmp_path):
    train_file = write_pretraining_records(tmp_path / "train.tfrecord", count=128, seq_length=64, predictions=5)
    model_dir = tmp_path / "interrupted"
    process = _start(_config(tmp_path, "interrupted"), train_file)
    deadline = time.time() + 240
    while _latest_checkpoint_step(model_dir) < 2 * INTERVAL:
        assert process.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline, "no checkpoint appeared in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    killed_at = json.loads((model_dir / "progress.json").read_text())["step"]
    checkpoint_at_kill = _latest_checkpoint_step(model_dir)
    assert checkpoint_at_kill < STEPS and not (model_dir / "metrics.json").exists()

    output = _finish(_start(_config(tmp_path, "interrupted"), train_file))
    assert f"resuming from the checkpoint at step {checkpoint_at_kill} of {STEPS}" in output
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == checkpoint_at_kill
    assert metrics["final_step"] == STEPS and metrics["optimizer_iterations"] == STEPS
    assert metrics["steps_this_run"] == STEPS - checkpoint_at_kill
    assert 0 <= killed_at - checkpoint_at_kill <= INTERVAL  # work lost: at most one interval

    _finish(_start(_config(tmp_path, "uninterrupted"), train_file))
    reference = json.loads((tmp_path / "uninterrupted" / "metrics.json").read_text())
    assert metrics["metrics"]["loss"] == pytest.approx(reference["metrics"]["loss"], rel=1e-4)
    assert metrics["metrics"]["mlm_logits_accuracy"] == pytest.approx(reference["metrics"]["mlm_logits_accuracy"], abs=1e-6)
