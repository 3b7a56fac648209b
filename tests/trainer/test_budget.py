"""The training budget: steps from the data's size, evaluation with the best weights kept and early stopping,
class weights in the loss, and the divergence guard."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.support.callback_logs import feed_batch_losses
from tests.trainer.support.synthetic_data import write_classification_records
from trainer import input_pipeline
from trainer.callbacks import DivergenceGuard
from trainer.config import ConfigError
from trainer.encoder import ENCODER_INPUT_NAMES
from trainer.losses import SparseSoftmaxCrossEntropy, sparse_softmax_cross_entropy
from trainer.train import BEST_WEIGHTS_FILE, FINAL_DIR, METRICS_FILE, TRAINING_SUMMARY_KEYS, TrainingDiverged, train
from trainer.training_config import EVAL_EVERY_STEPS_BOUNDS, TrainingConfig, epoch_budget


def test_epoch_budget_gives_whole_evaluation_and_checkpoint_intervals_near_the_asked_passes():
    # SST-2's 67,349 rows at batch 64: 1,053 steps a pass; 10 passes capped at 5,000 steps; about two
    # evaluations a pass (527 steps: 3 checkpoint intervals of 175 <= 200).
    assert epoch_budget(67_349, 10, 64, 200, max_train_steps=5000) == {
        "train_steps": 4725, "checkpoint_every_steps": 175, "eval_every_steps": 525}
    # ChnSentiCorp's 9,600 rows: 150 steps a pass, evaluated every 75; 10 passes, no cap reached.
    assert epoch_budget(9600, 10, 64, 200, max_train_steps=5000) == {
        "train_steps": 1500, "checkpoint_every_steps": 75, "eval_every_steps": 75}
    # An explicit evaluation interval is kept; checkpoints on its largest divisor <= checkpoint_every_steps.
    assert epoch_budget(1000, 3, 10, 40, eval_every_steps=100) == {
        "train_steps": 300, "checkpoint_every_steps": 25, "eval_every_steps": 100}
    low, high = EVAL_EVERY_STEPS_BOUNDS
    assert epoch_budget(500, 10, 64, 200)["eval_every_steps"] == low  # 8 steps a pass: not every 4 steps
    assert epoch_budget(10_000_000, 1, 64, 200, max_train_steps=9000)["eval_every_steps"] == high
    assert epoch_budget(60, 10, 64, 200)["train_steps"] == 10  # shorter than the lower bound: one evaluation

    for examples, epochs, batch, at_most, cap in [(67_349, 10, 64, 200, 5000), (9600, 12, 64, 200, None),
                                                  (3001, 2.5, 32, 50, 400), (777, 7, 16, 30, None),
                                                  (123_457, 3, 128, 1000, 2000), (1, 1, 64, 200, None)]:
        budget = epoch_budget(examples, epochs, batch, at_most, max_train_steps=cap)
        steps, interval, evaluation = budget["train_steps"], budget["checkpoint_every_steps"], budget["eval_every_steps"]
        assert interval <= at_most and evaluation % interval == 0 and steps % evaluation == 0, budget
        asked = math.ceil(epochs * examples / batch)
        if cap:
            assert steps <= cap, budget
        if not cap or asked < cap:
            assert abs(steps - asked) <= evaluation / 2, (budget, asked)

    with pytest.raises(ConfigError, match="labelled train examples"):
        epoch_budget(0, 10, 64, 200)


def test_label_counts_fit_the_config_to_the_data():
    config = TrainingConfig(train_steps=None, epochs=2, global_batch_size=10, checkpoint_every_steps=50,
                            warmup_fraction=0.25, class_weights="balanced")
    assert not config.budget_known and config.needs_label_counts and config.train_examples is None
    with pytest.raises(ConfigError, match="class_weights"):
        config.class_weight_values()

    fitted = config.with_label_counts([30, 10])
    assert fitted.budget_known and not fitted.needs_label_counts and fitted.train_examples == 40
    # ceil(2 x 40 / 10) = 8 steps, all one evaluation (shorter than the lower bound), warmup 25% of them.
    assert (fitted.train_steps, fitted.eval_every_steps, fitted.checkpoint_every_steps, fitted.warmup_steps) == (8, 8, 8, 2)
    weights = fitted.class_weight_values()
    assert weights == pytest.approx((40 / 60, 2.0))
    assert (30 * weights[0] + 10 * weights[1]) / 40 == pytest.approx(1.0)  # the loss keeps its scale
    assert TrainingConfig.from_json(json.dumps(fitted.to_dict())) == fitted  # JSON's lists become tuples again
    # A fixed budget keeps its steps; the counts still give the class weights.
    fixed = TrainingConfig(train_steps=20, checkpoint_every_steps=10, warmup_steps=5, class_weights="balanced")
    assert fixed.with_label_counts([5, 0]).train_steps == 20
    assert fixed.with_label_counts([5, 0]).class_weight_values() == (1.0, 0.0)  # an absent class weighs nothing
    assert not TrainingConfig().needs_label_counts


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"epochs": 3, "task": "pretrain"}, "epochs"),
        ({"train_steps": None}, "train_steps"),
        ({"max_train_steps": 100}, "max_train_steps"),
        ({"epochs": 3, "max_train_steps": 0}, "max_train_steps"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"class_weights": "inverse"}, "class_weights"),
        ({"class_weights": "balanced", "task": "pretrain"}, "class_weights"),
        ({"early_stopping_patience": 3}, "early_stopping_patience"),
        ({"early_stopping_patience": -1, "select_best_metric": "val_loss"}, "early_stopping_patience"),
        ({"eval_every_steps": 150}, "eval_every_steps"),  # not a multiple of checkpoint_every_steps=100
        ({"eval_every_steps": 300}, "eval_every_steps"),  # does not divide train_steps=1000
        ({"eval_every_steps": 0}, "eval_every_steps"),
        ({"divergence_factor": 0.5}, "divergence_factor"),
        ({"train_label_counts": (3, 4, 5)}, "train_label_counts"),
    ],
)
def test_budget_fields_are_checked_and_errors_name_them(changes, field):
    with pytest.raises(ConfigError, match=f"TrainingConfig.{field} .*got"):
        TrainingConfig(**changes)


def test_label_counts_skip_unlabelled_rows_and_class_weights_weigh_the_loss(tmp_path):
    path = write_classification_records(tmp_path / "c.tfrecord", count=40, seq_length=8,
                                        label_probabilities=[0.75, 0.25])
    records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    with tf.io.TFRecordWriter(str(tmp_path / "with_unlabelled.tfrecord")) as writer:
        for index, example in enumerate(records):
            if index % 5 == 0:
                example.features.feature["label_ids"].int64_list.value[0] = -1
            writer.write(example.SerializeToString())
    labels = [e.features.feature["label_ids"].int64_list.value[0] for e in records]
    kept = [label for index, label in enumerate(labels) if index % 5]
    counts = input_pipeline.label_counts(str(tmp_path / "with_unlabelled.tfrecord"), num_classes=2)
    assert counts == [kept.count(0), kept.count(1)] and sum(counts) == 32 and counts[0] > counts[1] > 0
    with pytest.raises(ValueError, match="num_classes"):
        input_pipeline.label_counts(path, num_classes=1)

    weights = TrainingConfig().replace(class_weights="balanced").with_label_counts(counts).class_weight_values()
    inputs = {name: keras.Input((8,), dtype="int32", name=name) for name in ENCODER_INPUT_NAMES}
    joined = keras.layers.Concatenate()([keras.ops.cast(inputs[name], "float32") for name in ENCODER_INPUT_NAMES])
    logits = keras.layers.Dense(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.05, seed=1))(joined)
    model = keras.Model(inputs, {"logits": logits})
    model.compile(loss={"logits": SparseSoftmaxCrossEntropy()})

    weighted_batches, plain_batches = (
        input_pipeline.classification_dataset(str(tmp_path / "with_unlabelled.tfrecord"), 64, 8, shuffle=False,
                                              repeat=False, class_weights=class_weights)
        for class_weights in (weights, None))
    (features, targets, sample_weights), = list(weighted_batches)
    np.testing.assert_allclose(sample_weights["logits"].numpy(), np.take(weights, targets["logits"].numpy()))
    per_example = sparse_softmax_cross_entropy(targets["logits"], model(features)["logits"]).numpy()
    weighted = model.evaluate(weighted_batches, verbose=0, return_dict=True)["loss"]
    plain = model.evaluate(plain_batches, verbose=0, return_dict=True)["loss"]
    assert weighted == pytest.approx(float(np.mean(np.take(weights, targets["logits"].numpy()) * per_example)), rel=1e-5)
    assert plain == pytest.approx(float(per_example.mean()), rel=1e-5)
    assert abs(weighted - plain) > 1e-4


def test_epochs_evaluate_keep_the_best_weights_stop_early_and_a_restart_stays_stopped(tmp_path):
    train_file = write_classification_records(tmp_path / "train.tfrecord", count=64, seq_length=16,
                                              label_probabilities=[0.7, 0.3])
    # Labels the opposite of the tokens': the more the model learns, the worse it scores here, so the best
    # evaluation comes early and the evaluations after it run out of patience.
    eval_file = write_classification_records(tmp_path / "eval.tfrecord", count=32, seq_length=16, seed=1,
                                             mislabel=True)
    config = TrainingConfig(task="classify", model_dir=str(tmp_path / "model"), max_seq_length=16,
                            global_batch_size=8, train_steps=None, epochs=5, checkpoint_every_steps=2,
                            eval_every_steps=4, warmup_fraction=0.1, learning_rate=1e-2, select_best_metric="val_loss",
                            early_stopping_patience=2, class_weights="balanced", strategy="default")
    result = train(config, train_file, eval_file)

    counts = input_pipeline.label_counts(train_file, 2)
    assert result.config.train_label_counts == tuple(counts)
    assert (result.config.train_steps, result.config.checkpoint_every_steps, result.config.warmup_steps) == (40, 2, 4)
    assert result.config.class_weight_values() == pytest.approx((64 / (2 * counts[0]), 64 / (2 * counts[1])))
    losses = result.history["val_loss"]
    best_index = int(np.argmin(losses))
    assert result.stopped_early and result.best["step"] == 4 * (best_index + 1)
    assert result.final_step == result.best["step"] + 2 * 4 < 40  # two evaluations without a better one
    assert len(losses) == result.final_step // 4 and len(result.history["loss"]) == result.final_step // 2
    assert result.best["value"] == pytest.approx(losses[best_index])

    metrics = json.loads((tmp_path / "model" / METRICS_FILE).read_text())
    assert {key: metrics[key] for key in TRAINING_SUMMARY_KEYS} == result.summary == {
        "planned_steps": 40, "final_step": result.final_step, "epochs": round(result.final_step * 8 / 64, 3),
        "train_examples": 64, "eval_every_steps": 4, "stopped_early": True, "selected": result.best}
    conversion = json.loads((tmp_path / "model" / FINAL_DIR / "conversion.json").read_text())
    assert conversion["training"] == result.summary
    with np.load(tmp_path / "model" / BEST_WEIGHTS_FILE) as stored:
        best_weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    for ours, theirs in zip(result.model.get_weights(), best_weights):
        np.testing.assert_array_equal(ours, theirs)
    evaluation = input_pipeline.classification_dataset(eval_file, 8, 16, shuffle=False, repeat=False)
    assert result.model.evaluate(evaluation, verbose=0, return_dict=True)["loss"] == pytest.approx(
        result.best["value"], rel=1e-4)
    assert (tmp_path / "model" / "checkpoints" / f"ckpt-{result.final_step}.index").exists()

    # A restart (the Trainer retried) finds the run out of patience at its last checkpoint: no more training.
    again = train(config, train_file, eval_file)
    assert (again.resumed_from_step, again.final_step, again.stopped_early, again.history) == (
        result.final_step, result.final_step, True, {})
    assert again.best == result.best and again.summary == result.summary


def test_a_nan_or_runaway_loss_stops_training_with_the_step_and_what_to_change():
    guard = DivergenceGuard(initial_step=100, warmup_steps=0, factor=3.0, advice="Lower the learning rate.")
    guard.on_epoch_begin(0)
    for batch in range(3):
        guard.on_train_batch_end(batch, {"loss": 0.7})
    with pytest.raises(TrainingDiverged, match="at step 104: the loss is nan.*Lower the learning rate") as nan:
        guard.on_train_batch_end(3, {"loss": float("nan")})
    assert nan.value.step == 104 and math.isnan(nan.value.loss)

    rng = np.random.default_rng(0)
    # Down to near 0, noisy, then a run of bad batches: over 3 times the best, but below the start.
    healthy = list(np.linspace(0.7, 0.01, 100)) + list(0.002 + rng.uniform(0, 0.02, 100)) + [0.3] * 10
    quiet = DivergenceGuard(initial_step=0, warmup_steps=20, factor=3.0)
    feed_batch_losses(quiet, healthy)
    assert quiet.step == 210 and quiet.best < 0.05 and 3 * quiet.best < quiet.smoothed < quiet.start

    warming = DivergenceGuard(initial_step=0, warmup_steps=30, factor=3.0)
    with pytest.raises(TrainingDiverged, match="at step 31: the smoothed loss .* over 3 times its best") as runaway:
        feed_batch_losses(warming, [0.7] * 10 + [50.0] * 30)  # explodes during warmup: stopped as soon as warmup ends
    assert runaway.value.step == 31 and runaway.value.loss > 3 * 0.7
    off = DivergenceGuard(initial_step=0, warmup_steps=0, factor=0)
    feed_batch_losses(off, [0.7] * 10 + [50.0] * 30)  # factor 0: only NaN/inf stop training
    assert off.step == 40


def test_a_huge_learning_rate_raises_training_diverged_and_keeps_the_checkpoints(tmp_path):
    train_file = write_classification_records(tmp_path / "train.tfrecord", count=64, seq_length=16)
    config = TrainingConfig(task="classify", model_dir=str(tmp_path / "model"), max_seq_length=16,
                            global_batch_size=8, train_steps=20, checkpoint_every_steps=2, warmup_steps=2,
                            learning_rate=1e3, strategy="default")
    with pytest.raises(TrainingDiverged, match="learning_rate=1000") as diverged:
        train(config, train_file)
    assert 2 < diverged.value.step <= 20 and str(diverged.value.step) in str(diverged.value)
    kept = sorted(int(p.name[len("ckpt-"):-len(".index")]) for p in (tmp_path / "model" / "checkpoints").glob("*.index"))
    assert kept and max(kept) < diverged.value.step  # the checkpoints before it stay, none after
    assert not (tmp_path / "model" / FINAL_DIR).exists()
