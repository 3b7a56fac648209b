"""`run_fn`, the TFX Trainer entry, with a fake fn_args as TFX's GenericExecutor fills it."""

import hashlib
import json
import os
import types

import pytest
import tensorflow as tf

from serving import contract
from tests.serving.support import tiny_task
from tests.trainer.support.fn_args import fake_fn_args
from tests.trainer.support.synthetic_data import write_pretraining_records
from trainer import run_fn as run_fn_lib
from trainer.config import ConfigError
from text_contract.transform_options import SENTENCEPIECE_MODEL_PATH_KEY, TEXT_FEATURES_KEY
from trainer.train import FINAL_DIR, METRICS_FILE


def _classify_config(task, **training):
    return {
        run_fn_lib.TRAINING_CONFIG_KEY: {"task": "classify", "global_batch_size": 8, "train_steps": 10,
                                         "checkpoint_every_steps": 10, "warmup_steps": 1, "learning_rate": 1e-3,
                                         "log_every_steps": 5, "strategy": "default", **training},
        TEXT_FEATURES_KEY: [tiny_task.TEXT_FEATURE],
        SENTENCEPIECE_MODEL_PATH_KEY: task.spm_model,
        run_fn_lib.MODEL_NAME_KEY: "sentiment",
    }


def test_training_config_takes_what_tfx_and_the_data_decide(tmp_path):
    fn_args = types.SimpleNamespace(
        model_run_dir=str(tmp_path / "run"), train_steps=30, eval_steps=4, base_model=None,
        custom_config={run_fn_lib.TRAINING_CONFIG_KEY: {"train_steps": 1000, "checkpoint_every_steps": 100,
                                                        "warmup_steps": 100}})
    config = run_fn_lib.training_config_from_fn_args(fn_args, {"max_seq_length": 32, "num_classes": 3})
    assert (config.model_dir, config.train_steps, config.eval_steps) == (str(tmp_path / "run"), 30, 4)
    assert config.checkpoint_every_steps == 30 and config.warmup_steps == 30
    assert (config.max_seq_length, config.num_classes) == (32, 3)

    fn_args.custom_config[run_fn_lib.TRAINING_CONFIG_KEY]["num_classes"] = 2
    with pytest.raises(ConfigError, match="num_classes.*Transform output says 3"):
        run_fn_lib.training_config_from_fn_args(fn_args, {"num_classes": 3})

    fn_args.base_model = str(tmp_path)  # no albert_config.json there
    with pytest.raises(ConfigError, match="base_model"):
        run_fn_lib.training_config_from_fn_args(fn_args)


def test_classify_needs_its_text_features(tmp_path):
    task = tiny_task.tiny_task()
    config = _classify_config(task)
    del config[TEXT_FEATURES_KEY]
    with pytest.raises(ConfigError, match="text_features"):
        run_fn_lib.run_fn(fake_fn_args(tmp_path, config, train_files=task.train_files, eval_files=task.eval_files,
                                       transform_output=task.transform_dir))


def test_run_fn_classify_trains_and_exports_the_serving_contract(tmp_path):
    task = tiny_task.tiny_task()
    fn_args = fake_fn_args(tmp_path, _classify_config(task), train_files=task.train_files,
                           eval_files=task.eval_files, transform_output=task.transform_dir, eval_steps=1)
    run_fn_lib.run_fn(fn_args)

    export_dir = fn_args.serving_model_dir
    assert contract.missing_from_contract(contract.list_signature_defs(export_dir), 1) == []
    metadata = contract.read_metadata(export_dir)
    labels = [n.decode() for n in tf.io.gfile.GFile(os.path.join(export_dir, "assets", "label_vocabulary"))
              .read().encode().splitlines()]
    assert list(metadata.label_names) == labels and sorted(labels) == sorted(tiny_task.LABELS)
    assert metadata.model_name == "sentiment" and metadata.preset == "tiny"
    assert metadata.albert_config["vocab_size"] == task.vocab_size  # a fresh encoder sized to the vocabulary
    assert metadata.max_seq_length == tiny_task.MAX_SEQ_LENGTH
    with open(task.spm_model, "rb") as handle:
        assert metadata.vocabulary_sha256 == hashlib.sha256(handle.read()).hexdigest()
    assert metadata.extra["training_config"]["num_classes"] == 2
    assert metadata.extra["training_config"]["model_dir"] == fn_args.model_run_dir
    assert os.path.exists(os.path.join(fn_args.model_run_dir, FINAL_DIR, "model.weights.h5"))
    with open(os.path.join(fn_args.model_run_dir, METRICS_FILE)) as handle:
        assert json.load(handle)["final_step"] == 10

    loaded = tf.saved_model.load(export_dir)  # tensorflow_text is already imported by the Transform module
    out = loaded.signatures[contract.PREDICT_SIGNATURE](text=tf.constant(["a lovely warm film", "grim"]))
    assert out[contract.PROBABILITIES_OUTPUT].shape == (2, 2)
    assert set(out[contract.LABEL_OUTPUT].numpy().astype(str)) <= set(tiny_task.LABELS)


def test_pretrain_output_warm_starts_a_classify_run_through_base_model(tmp_path):
    task = tiny_task.tiny_task()
    records = write_pretraining_records(tmp_path / "pretraining.tfrecord", count=16, vocab_size=task.vocab_size,
                                        seq_length=tiny_task.MAX_SEQ_LENGTH, predictions=5)
    pretrain_config = {
        run_fn_lib.TRAINING_CONFIG_KEY: {"task": "pretrain", "global_batch_size": 4, "train_steps": 2,
                                         "checkpoint_every_steps": 2, "warmup_steps": 0,
                                         "max_seq_length": tiny_task.MAX_SEQ_LENGTH, "max_predictions_per_seq": 5,
                                         "log_every_steps": 1, "strategy": "default"},
        SENTENCEPIECE_MODEL_PATH_KEY: task.spm_model,
    }
    pretrain_args = fake_fn_args(tmp_path / "pretrain", pretrain_config, train_files=records, eval_files=None)
    run_fn_lib.run_fn(pretrain_args)
    pretrained = pretrain_args.serving_model_dir
    assert sorted(os.listdir(pretrained)) == ["albert_config.json", "conversion.json", "model.weights.h5"]
    with open(os.path.join(pretrained, "albert_config.json")) as handle:
        assert json.load(handle)["vocab_size"] == task.vocab_size

    classify_args = fake_fn_args(tmp_path / "classify", _classify_config(task, train_steps=2,
                                                                         checkpoint_every_steps=2),
                                 train_files=task.train_files, eval_files=None,
                                 transform_output=task.transform_dir, base_model=pretrained)
    run_fn_lib.run_fn(classify_args)
    metadata = contract.read_metadata(classify_args.serving_model_dir)
    assert metadata.extra["training_config"]["warm_start_path"] == pretrained
    assert metadata.preset is None  # the encoder's shape came from the warm start


def test_a_fresh_encoder_gets_the_vocabulary_size_and_the_encoder_dropout(tmp_path):
    from trainer.config import AlbertConfig
    from trainer.training_config import TrainingConfig

    task = tiny_task.tiny_task()
    config = TrainingConfig(model_dir=str(tmp_path / "run"), preset="tiny")
    matched = run_fn_lib._match_vocabulary(config, run_fn_lib._vocabulary_size(task.spm_model), task.spm_model,
                                           encoder_dropout=0.25)
    albert_config = AlbertConfig.from_json_file(matched.albert_config_path)
    assert albert_config.vocab_size == task.vocab_size
    assert albert_config.hidden_dropout_prob == albert_config.attention_probs_dropout_prob == 0.25
    untouched = run_fn_lib._match_vocabulary(config, task.vocab_size, task.spm_model)
    assert AlbertConfig.from_json_file(untouched.albert_config_path).hidden_dropout_prob == 0.0  # the preset's


def test_the_vocabulary_is_found_in_the_transform_output_when_not_named(tmp_path):
    from text_contract.features import TRANSFORM_VOCABULARY_FILE
    transform_dir = tmp_path / "transform_graph"
    (transform_dir / os.path.dirname(TRANSFORM_VOCABULARY_FILE)).mkdir(parents=True)
    (transform_dir / TRANSFORM_VOCABULARY_FILE).write_bytes(b"spm")
    assert run_fn_lib._vocabulary_path({}, str(transform_dir)) == str(transform_dir / TRANSFORM_VOCABULARY_FILE)
    assert run_fn_lib._vocabulary_path({SENTENCEPIECE_MODEL_PATH_KEY: "/named/spm.model"}, str(transform_dir)) == \
        "/named/spm.model"
    assert run_fn_lib._vocabulary_path({}, str(tmp_path / "elsewhere")) is None


def test_a_fixed_tfx_budget_replaces_epochs_and_keeps_the_intervals_whole(tmp_path):
    budget = {"train_steps": None, "epochs": 10, "max_train_steps": 500, "checkpoint_every_steps": 4,
              "eval_every_steps": 10, "warmup_fraction": 0.1}
    fn_args = types.SimpleNamespace(model_run_dir=str(tmp_path / "run"), train_steps=None, eval_steps=None,
                                    base_model=None, custom_config={run_fn_lib.TRAINING_CONFIG_KEY: dict(budget)})
    waiting = run_fn_lib.training_config_from_fn_args(fn_args)
    assert waiting.epochs == 10 and not waiting.budget_known and waiting.needs_label_counts

    fn_args.train_steps = 30  # TrainArgs.num_steps
    fixed = run_fn_lib.training_config_from_fn_args(fn_args)
    assert (fixed.epochs, fixed.max_train_steps, fixed.train_steps) == (None, None, 30)
    assert (fixed.eval_every_steps, fixed.checkpoint_every_steps, fixed.warmup_steps) == (10, 2, 3)
    fn_args.custom_config[run_fn_lib.TRAINING_CONFIG_KEY]["eval_every_steps"] = 7
    with pytest.raises(ConfigError, match="eval_every_steps must divide train_steps=30"):
        run_fn_lib.training_config_from_fn_args(fn_args)


def test_epochs_give_the_steps_of_the_train_split_and_the_export_records_the_budget(tmp_path):
    from trainer.train import TRAINING_SUMMARY_KEYS

    task = tiny_task.tiny_task()
    config = _classify_config(task, train_steps=None, epochs=2.5, warmup_fraction=0.2,
                              select_best_metric="val_accuracy")
    fn_args = fake_fn_args(tmp_path, config, train_files=task.train_files, eval_files=task.eval_files,
                           transform_output=task.transform_dir)  # no TrainArgs.num_steps
    run_fn_lib.run_fn(fn_args)

    metadata = contract.read_metadata(fn_args.serving_model_dir)
    trained = metadata.extra["training_config"]
    # 48 labelled train rows at batch 8: ceil(2.5 x 48 / 8) = 15 steps, one evaluation of 2 checkpoint
    # intervals of 7 (at most checkpoint_every_steps=10) -> 14 steps; warmup 20% of them.
    assert sum(trained["train_label_counts"]) == 48
    assert (trained["train_steps"], trained["checkpoint_every_steps"], trained["eval_every_steps"],
            trained["warmup_steps"]) == (14, 7, 14, 2)
    summary = metadata.extra[run_fn_lib.TRAINING_SUMMARY_KEY]
    assert sorted(summary) == sorted(TRAINING_SUMMARY_KEYS)
    assert (summary["planned_steps"], summary["final_step"], summary["train_examples"], summary["epochs"]) == (
        14, 14, 48, round(14 * 8 / 48, 3))
    assert summary["stopped_early"] is False and summary["eval_every_steps"] == 14
    assert (summary["selected"]["metric"], summary["selected"]["step"]) == ("val_accuracy", 14)
    assert metadata.extra["final_step"] == 14
    with open(os.path.join(fn_args.model_run_dir, METRICS_FILE)) as handle:
        assert json.load(handle)["selected"] == summary["selected"]
