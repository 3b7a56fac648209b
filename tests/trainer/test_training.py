"""Training building blocks: config validation, schedule, optimizers, input pipelines, warm start, logs."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.support.synthetic_data import write_classification_records, write_pretraining_records
from trainer import input_pipeline
from trainer.config import AlbertConfig, ConfigError
from trainer.optimization import AdamW, Lamb, WarmupPolynomialDecay, create_optimizer
from trainer.tasks import build_model
from trainer.train import FINAL_DIR, METRICS_FILE, resolve_precision, train
from trainer.training_config import TrainingConfig


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"task": "translate"}, "task"),
        ({"train_steps": 100, "checkpoint_every_steps": 30}, "checkpoint_every_steps"),
        ({"warmup_steps": 2000}, "warmup_steps"),
        ({"max_seq_length": 1024}, "max_seq_length"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"global_batch_size": 0}, "global_batch_size"),
    ],
)
def test_training_config_errors_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        TrainingConfig(**changes)


def test_schedule_warms_up_linearly_then_decays_polynomially():
    schedule = WarmupPolynomialDecay(peak=1e-3, decay_steps=110, warmup_steps=10, end=1e-4, power=1.0)
    values = {step: float(schedule(step)) for step in (0, 4, 9, 10, 60, 110, 500)}
    assert values[0] == pytest.approx(1e-4) and values[4] == pytest.approx(5e-4) and values[9] == pytest.approx(1e-3)
    assert values[10] == pytest.approx(1e-3)
    assert values[60] == pytest.approx(0.5 * (1e-3 - 1e-4) + 1e-4)
    assert values[110] == pytest.approx(1e-4) and values[500] == pytest.approx(1e-4)
    assert WarmupPolynomialDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_optimizer_per_task_and_weight_decay_skips_layer_norm_and_biases():
    assert isinstance(create_optimizer(TrainingConfig(task="pretrain")), Lamb)
    optimizer = create_optimizer(TrainingConfig(task="classify"))
    assert isinstance(optimizer, AdamW) and optimizer.global_clipnorm == 1.0
    dense, norm = keras.layers.Dense(3), keras.layers.LayerNormalization()
    dense.build((None, 3))
    norm.build((None, 3))
    optimizer.build(dense.trainable_variables + norm.trainable_variables)
    decayed = {v.name: optimizer._use_weight_decay(v) for v in dense.trainable_variables + norm.trainable_variables}
    assert decayed == {"kernel": True, "bias": False, "gamma": False, "beta": False}


def test_gradient_accumulation_updates_every_k_batches():
    config = TrainingConfig(task="classify", gradient_accumulation_steps=2, train_steps=10, checkpoint_every_steps=5,
                            warmup_steps=0, learning_rate=0.1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=create_optimizer(config), loss="mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    snapshots = [model.get_weights()[0].copy()]
    for _ in range(4):
        model.train_on_batch(x, y)
        snapshots.append(model.get_weights()[0].copy())
    changed = [not np.array_equal(a, b) for a, b in zip(snapshots, snapshots[1:])]
    assert changed == [False, True, False, True]


def test_precision_auto_is_float32_on_cpu():
    assert resolve_precision(TrainingConfig(), tf.distribute.get_strategy()) == "float32"
    assert resolve_precision(TrainingConfig(precision="mixed_bfloat16"), tf.distribute.get_strategy()) == "mixed_bfloat16"


def test_pipelines_have_static_shapes_and_skip_unlabelled_rows(tmp_path):
    pretraining = input_pipeline.pretraining_dataset(
        write_pretraining_records(tmp_path / "p.tfrecord", count=20, seq_length=32, predictions=5), 8, 32, 5
    )
    inputs, targets, weights = pretraining.element_spec
    assert inputs["token_ids"].shape == (8, 32) and targets["mlm_logits"].shape == (8, 5)
    assert weights["mlm_logits"].shape == (8, 5) and targets["sop_logits"].shape == (8,)

    path = write_classification_records(tmp_path / "c.tfrecord", count=10, seq_length=16)
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
    with tf.io.TFRecordWriter(str(tmp_path / "with_unlabelled.tfrecord")) as writer:
        for index, record in enumerate(records):
            example = tf.train.Example.FromString(record)
            if index % 2:
                example.features.feature["label_ids"].int64_list.value[0] = -1
            writer.write(example.SerializeToString())
    evaluation = input_pipeline.classification_dataset(
        str(tmp_path / "with_unlabelled.tfrecord"), 4, 16, shuffle=False, repeat=False
    )
    labels = np.concatenate([t["logits"].numpy() for _, t in evaluation])
    assert len(labels) == 5 and (labels >= 0).all()


def test_pretrain_then_fine_tune_from_it_with_logs_and_metrics(tmp_path):
    pretraining_file = write_pretraining_records(tmp_path / "p.tfrecord", count=32, seq_length=32, predictions=5)
    pretrain = TrainingConfig(task="pretrain", model_dir=str(tmp_path / "pretrain"), max_seq_length=32,
                              max_predictions_per_seq=5, global_batch_size=8, train_steps=6, checkpoint_every_steps=3,
                              warmup_steps=1, learning_rate=1e-3, log_every_steps=2)
    pretrained = train(pretrain, pretraining_file)
    final_dir = tmp_path / "pretrain" / FINAL_DIR
    summary = json.loads((final_dir / "conversion.json").read_text())
    assert summary["model"] == "AlbertPretrainer" and summary["task"] == "pretrain"
    metrics = json.loads((tmp_path / "pretrain" / METRICS_FILE).read_text())
    assert metrics["final_step"] == 6 and {"mlm_logits_accuracy", "sop_logits_accuracy"} <= set(metrics["metrics"])
    tags = set()
    for root, _, files in os.walk(tmp_path / "pretrain" / "logs"):
        for name in files:
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                tags |= {value.tag for value in event.summary.value}
    assert {"learning_rate", "examples_per_second"} <= tags and any("loss" in tag for tag in tags)

    classify = TrainingConfig(task="classify", model_dir=str(tmp_path / "classify"), warm_start_path=str(final_dir),
                              max_seq_length=32, train_steps=4, checkpoint_every_steps=2, warmup_steps=1)
    model = build_model(classify, pretrained.albert_config)
    for ours, theirs in zip(model.encoder.weights, pretrained.model.encoder.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    result = train(classify, write_classification_records(tmp_path / "c.tfrecord", seq_length=32))
    assert result.final_step == 4 and "accuracy" in result.history


def test_dynamic_masking_in_the_pipeline_draws_new_masks_per_pass(tmp_path):
    path = write_pretraining_records(tmp_path / "p.tfrecord", count=16, seq_length=32, predictions=5)
    dataset = input_pipeline.pretraining_dataset(path, 8, 32, 5, shuffle=False, seed=3, dynamic_masking_vocab_size=100)
    first = [next(iter(dataset))[0]["masked_lm_positions"].numpy() for _ in range(2)]
    assert first[0].shape == (8, 5)
    assert not np.array_equal(first[0], first[1])
    inputs, targets, weights = next(iter(dataset))
    real = weights["mlm_logits"].numpy() > 0
    assert real.any()
    tokens = inputs["token_ids"].numpy()
    positions = inputs["masked_lm_positions"].numpy()
    # The [CLS] position is never chosen for prediction.
    assert not (positions[real] == 0).any() and (tokens[:, 0] == 2).all()


def test_best_weights_keeps_the_best_evaluation_and_survives_a_restart(tmp_path):
    from trainer.callbacks import BestWeights

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = str(tmp_path / "best_weights.npz")
    callback = BestWeights("val_accuracy", "max", path, steps_per_interval=10)
    callback.set_model(model)
    snapshots = []
    for epoch, value in enumerate([0.5, 0.8, 0.6]):
        model.set_weights([np.full((2, 1), epoch + 1.0, "float32"), np.full((1,), epoch + 1.0, "float32")])
        snapshots.append(model.get_weights())
        callback.on_epoch_end(epoch, {"val_accuracy": value, "accuracy": 1.0})
    assert callback.restore(model) == {"metric": "val_accuracy", "mode": "max", "value": 0.8, "step": 20}
    np.testing.assert_array_equal(model.get_weights()[0], snapshots[1][0])

    # A resumed run competes against the interrupted run's best: a worse value is not kept, a better one is.
    resumed = BestWeights("val_accuracy", "max", path, steps_per_interval=10)
    resumed.set_model(model)
    model.set_weights(snapshots[2])
    resumed.on_epoch_end(3, {"val_accuracy": 0.7})
    assert resumed.restore(model)["step"] == 20
    np.testing.assert_array_equal(model.get_weights()[0], snapshots[1][0])
    model.set_weights(snapshots[2])
    resumed.on_epoch_end(4, {"val_accuracy": 0.9})
    assert resumed.restore(model)["step"] == 50

    loss = BestWeights("val_loss", "min", str(tmp_path / "loss.npz"), steps_per_interval=1)
    loss.set_model(model)
    for epoch, value in enumerate([0.3, 0.1, 0.2]):
        loss.on_epoch_end(epoch, {"val_loss": value})
    assert loss.best["value"] == 0.1 and loss.best["step"] == 2
    with pytest.raises(KeyError, match="val_auc"):
        BestWeights("val_auc", "max", str(tmp_path / "x.npz"), 1).on_epoch_end(0, {"val_accuracy": 1.0})


def test_select_best_metric_restores_the_best_evaluated_weights_into_final(tmp_path):
    assert TrainingConfig(select_best_metric="val_loss").select_best_mode == "min"
    assert TrainingConfig(select_best_metric="val_accuracy").select_best_mode == "max"
    with pytest.raises(ConfigError, match="select_best_metric"):
        TrainingConfig(select_best_metric="accuracy")

    train_file = write_classification_records(tmp_path / "train.tfrecord", count=64, seq_length=16)
    # Evaluation labels are the opposite of what the tokens say, so that the last weights are not the best
    # (and restoring them matters).
    eval_file = str(tmp_path / "eval.tfrecord")
    with tf.io.TFRecordWriter(eval_file) as writer:
        for record in tf.data.TFRecordDataset(write_classification_records(tmp_path / "e.tfrecord", count=32,
                                                                           seq_length=16, seed=1)):
            example = tf.train.Example.FromString(record.numpy())
            label = example.features.feature["label_ids"].int64_list.value
            label[0] = 1 - label[0]
            writer.write(example.SerializeToString())
    config = TrainingConfig(task="classify", model_dir=str(tmp_path / "model"), max_seq_length=16,
                            global_batch_size=8, train_steps=6, checkpoint_every_steps=2, warmup_steps=1,
                            learning_rate=1e-2, select_best_metric="val_loss")
    result = train(config, train_file, eval_file)
    losses = result.history["val_loss"]
    assert len(losses) == 3
    best_index = int(np.argmin(losses))
    assert best_index < 2, losses  # the premise of this test: the best evaluation is not the last
    assert result.best["step"] == 2 * (best_index + 1) and result.best["value"] == pytest.approx(losses[best_index])
    assert json.loads((tmp_path / "model" / "best_weights.json").read_text()) == result.best
    summary = json.loads((tmp_path / "model" / FINAL_DIR / "conversion.json").read_text())
    assert summary["selected"] == result.best
    # final/ holds the selected weights: evaluating them gives the selected loss again.
    final = build_model(config, result.albert_config)
    final.load_weights(str(tmp_path / "model" / FINAL_DIR / "model.weights.h5"))
    with np.load(tmp_path / "model" / "best_weights.npz") as stored:
        best_weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    assert len(best_weights) == len(result.model.get_weights())
    for ours, theirs in zip(result.model.get_weights(), best_weights):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(final.get_weights(), best_weights):
        np.testing.assert_array_equal(ours, theirs)
    evaluation = input_pipeline.classification_dataset(eval_file, 8, 16, shuffle=False, repeat=False)
    assert result.model.evaluate(evaluation, verbose=0, return_dict=True)["loss"] == pytest.approx(
        result.best["value"], rel=1e-4)

    with pytest.raises(ConfigError, match="needs eval files"):
        train(config.replace(model_dir=str(tmp_path / "no_eval")), train_file)


def test_pretraining_learns_a_sentence_order_signal(tmp_path):
    # The synthetic pairs give their order away in one token (the first of segment B), so SOP must go well
    # above chance: a guard on the whole SOP path (records, pooled output, head, loss, optimizer), which an
    # MLM-only regression would pass.
    records = write_pretraining_records(tmp_path / "p.tfrecord", count=256, seq_length=32, predictions=5)
    small = AlbertConfig(vocab_size=100, embedding_size=32, hidden_size=64, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=128, max_position_embeddings=32)
    small.to_json_file(str(tmp_path / "albert_config.json"))
    config = TrainingConfig(task="pretrain", model_dir=str(tmp_path / "model"), albert_config_path=str(tmp_path / "albert_config.json"),
                            max_seq_length=32, max_predictions_per_seq=5, global_batch_size=32, train_steps=240,
                            checkpoint_every_steps=240, warmup_steps=20, learning_rate=2e-3, optimizer="adamw",
                            clip_norm=0.0, log_every_steps=1000)
    result = train(config, records)
    dataset = input_pipeline.pretraining_dataset(records, 32, 32, 5, shuffle=False)
    logs = result.model.evaluate(dataset, steps=8, verbose=0, return_dict=True)
    assert logs["sop_logits_accuracy"] > 0.9


def test_evaluations_read_the_eval_split_to_its_end_without_running_out_of_data(tmp_path):
    import warnings

    train_file = write_classification_records(tmp_path / "train.tfrecord", count=32, seq_length=16)
    eval_file = write_classification_records(tmp_path / "eval.tfrecord", count=20, seq_length=16, seed=1)
    evaluation = input_pipeline.classification_dataset(eval_file, 8, 16, shuffle=False, repeat=False)
    assert evaluation.cardinality() == 3  # 20 rows: two full batches and a partial one, all scored
    assert sum(len(targets["logits"]) for _, targets in evaluation) == 20
    config = TrainingConfig(task="classify", model_dir=str(tmp_path / "model"), preset="tiny", max_seq_length=16,
                            global_batch_size=8, train_steps=4, checkpoint_every_steps=2, warmup_steps=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(config, train_file, eval_file)
    assert len(result.history["val_loss"]) == 2  # both evaluations ran
    assert not [w for w in caught if "ran out of data" in str(w.message)], [str(w.message) for w in caught]
