"""A training run whose model directory is remote: everything it writes goes through tf.io.gfile.

The model directory is on TensorFlow's in-memory file system (`ram://`), a path with a scheme as gs:// and s3://
are: a write that went through `open`/`os` instead would fail, or land in a local `ram:` directory, which the
test checks is not there.
"""

import os
import uuid

import numpy as np
import tensorflow as tf

from tests.trainer.support.synthetic_data import write_classification_records
from text_contract import storage
from trainer.checkpoints.convert import CONFIG_FILE, SUMMARY_FILE, WEIGHTS_FILE, load_converted
from trainer.train import BEST_WEIGHTS_FILE, CHECKPOINT_DIR, FINAL_DIR, LOG_DIR, METRICS_FILE, PROGRESS_FILE, train
from trainer.training_config import TrainingConfig


def test_a_run_writes_and_resumes_in_a_remote_model_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a path taken for a local one would appear
    root = f"ram://albert-tfx-train-{uuid.uuid4().hex}"
    model_dir = f"{root}/model"
    data = tmp_path / "data"
    data.mkdir()
    train_file = write_classification_records(data / "train.tfrecord", count=32, seq_length=16)
    eval_file = write_classification_records(data / "eval.tfrecord", count=16, seq_length=16, seed=1)
    albert_config = f"{root}/config/{CONFIG_FILE}"
    from trainer.presets import get_preset

    get_preset("tiny").replace(vocab_size=100).to_json_file(albert_config)  # AlbertConfig written remotely too
    config = TrainingConfig(task="classify", model_dir=model_dir, albert_config_path=albert_config, max_seq_length=16,
                            global_batch_size=8, train_steps=4, checkpoint_every_steps=2, warmup_steps=1,
                            log_every_steps=1, select_best_metric="val_loss")
    result = train(config, train_file, eval_file)

    assert sorted(storage.listdir(model_dir)) == sorted(
        [CHECKPOINT_DIR, LOG_DIR, METRICS_FILE, PROGRESS_FILE, FINAL_DIR, BEST_WEIGHTS_FILE, "best_weights.json"])
    assert storage.read_json(os.path.join(model_dir, METRICS_FILE))["final_step"] == 4
    assert storage.read_json(os.path.join(model_dir, PROGRESS_FILE))["step"] == 4
    assert storage.read_json(os.path.join(model_dir, "best_weights.json")) == result.best
    assert tf.train.latest_checkpoint(os.path.join(model_dir, CHECKPOINT_DIR)).endswith("ckpt-4")
    assert tf.io.gfile.glob(os.path.join(model_dir, LOG_DIR, "train", "events.out.tfevents.*"))
    assert sorted(storage.listdir(os.path.join(model_dir, FINAL_DIR))) == sorted([CONFIG_FILE, WEIGHTS_FILE,
                                                                                  SUMMARY_FILE])
    # final/ loads back from the remote directory with the weights the run ended with (the best evaluation's).
    loaded = load_converted(os.path.join(model_dir, FINAL_DIR))
    for ours, theirs in zip(loaded.get_weights(), result.model.encoder.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    best = storage.load_arrays(os.path.join(model_dir, BEST_WEIGHTS_FILE))
    for ours, theirs in zip(result.model.get_weights(), best):
        np.testing.assert_array_equal(ours, theirs)

    # Started again, the run resumes from the remote checkpoint and finds nothing left to train.
    again = train(config, train_file, eval_file)
    assert (again.resumed_from_step, again.final_step, again.best) == (4, 4, result.best)
    assert sorted(os.listdir(tmp_path)) == ["data"]  # nothing was written to a local path
