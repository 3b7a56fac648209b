"""Strategies reach the single-device loss: MirroredStrategy on 2 logical CPU devices, and
MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1."""

import json
import os
import pathlib
import subprocess
import sys

import portpicker
import pytest

from tests.trainer.support.synthetic_data import write_pretraining_records
from trainer.checkpoints.convert import save_model_directory
from trainer.encoder import AlbertEncoder
from trainer.presets import get_preset
from trainer.pretrainer import AlbertPretrainer
from trainer.training_config import TrainingConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
STEPS = 12


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Shared data and one initial model that every run warm-starts from, so all start identical."""
    directory = tmp_path_factory.mktemp("distribution")
    train_file = write_pretraining_records(directory / "train.tfrecord", count=96, seq_length=32, predictions=5)
    albert_config = get_preset("tiny").replace(vocab_size=100, max_position_embeddings=64)
    save_model_directory(AlbertPretrainer(AlbertEncoder.from_albert_config(albert_config)), str(directory / "init"), {})
    return directory, train_file


def _config(directory, name, **changes):
    config = TrainingConfig(
        task="pretrain", model_dir=str(directory / name), warm_start_path=str(directory / "init"),
        max_seq_length=32, max_predictions_per_seq=5, global_batch_size=8, train_steps=STEPS,
        checkpoint_every_steps=STEPS // 2, warmup_steps=2, learning_rate=2e-3, log_every_steps=4, **changes,
    )
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def _launch(config_path, train_file, out_path, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.trainer.support.distributed_worker", str(config_path), str(train_file), str(out_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _result(process, out_path, timeout=400):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return json.loads(pathlib.Path(out_path).read_text())


@pytest.fixture(scope="module")
def single_device(setup):
    directory, train_file = setup
    out = directory / "single.out.json"
    return _result(_launch(_config(directory, "single", strategy="default"), train_file, out), out)


def test_mirrored_on_two_logical_cpus_matches_single_device(setup, single_device):
    directory, train_file = setup
    out = directory / "mirrored.out.json"
    mirrored = _result(_launch(_config(directory, "mirrored", strategy="mirrored", num_cpu_devices=2), train_file, out), out)
    assert mirrored["replicas"] == 2 and single_device["replicas"] == 1
    assert mirrored["loss"] == pytest.approx(single_device["loss"], rel=2e-3)


def test_weight_averaging_under_mirrored_matches_single_device(setup, single_device):
    directory, train_file = setup
    averaged = {}
    for name, changes in (("single", {"strategy": "default"}),
                          ("mirrored", {"strategy": "mirrored", "num_cpu_devices": 2})):
        out = directory / f"averaged_{name}.out.json"
        config = _config(directory, f"averaged_{name}", weight_average_decay=0.9, **changes)
        averaged[name] = _result(_launch(config, train_file, out), out)
    # Averaging changes what is exported, not how training goes.
    assert averaged["mirrored"]["loss"] == pytest.approx(single_device["loss"], rel=2e-3)
    assert averaged["single"]["loss"] == pytest.approx(single_device["loss"], rel=1e-5)
    assert averaged["mirrored"]["weights_abs_sum"] == pytest.approx(averaged["single"]["weights_abs_sum"], rel=1e-4)
    assert abs(averaged["single"]["weights_abs_sum"] - single_device["weights_abs_sum"]) > 1e-3


def test_multi_worker_with_two_processes_matches_single_device(setup, single_device):
    directory, train_file = setup
    ports = [portpicker.pick_unused_port() for _ in range(2)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, outputs = [], []
    for index in range(2):
        out = directory / f"worker{index}.out.json"
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        config_path = _config(directory, "multi_worker", strategy="multi_worker")
        processes.append(_launch(config_path, train_file, out, {"TF_CONFIG": tf_config}))
        outputs.append(out)
    results = [_result(process, out) for process, out in zip(processes, outputs)]
    assert all(result["replicas"] == 2 for result in results)
    assert results[0]["loss"] == pytest.approx(single_device["loss"], rel=2e-3)
    assert results[1]["loss"] == pytest.approx(results[0]["loss"], rel=1e-6)
    # Only the chief (worker 0) writes the shared checkpoints.
    assert (directory / "multi_worker" / "checkpoints" / f"ckpt-{STEPS}.index").exists()
