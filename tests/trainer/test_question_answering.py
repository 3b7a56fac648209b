"""Task qa: the model, its config, its input pipeline, warm start and a short training that must learn."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from text_contract.features import END_POSITIONS, MODEL_INPUTS, PADDING_MASK, SEGMENT_IDS, START_POSITIONS, TOKEN_IDS
from text_contract.pieces import CLS_ID, SEP_ID
from text_contract.features import WINDOW_COUNT
from trainer import input_pipeline
from trainer.checkpoints.convert import SUMMARY_FILE, save_model_directory
from trainer.config import AlbertConfig, ConfigError
from trainer.encoder import AlbertEncoder
from trainer.pretrainer import AlbertPretrainer
from trainer.question_answering import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS, AlbertQuestionAnswerer
from trainer.tasks import build_model, compile_model, resolve_albert_config
from trainer.train import FINAL_DIR, train
from trainer.training_config import TrainingConfig

CONFIG = AlbertConfig(
    vocab_size=40, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=64, max_position_embeddings=16,
)
SEQ_LENGTH = 16
ANSWER_START_ID, ANSWER_END_ID = 7, 8  # the synthetic answers' first and last pieces


def _windows(count, seed=0, answerable=0.8):
    """Packed windows `[CLS] q q q [SEP] context [SEP] pad`: the answer runs from the piece 7 to the piece 8
    (1-3 pieces later); a window without them has no answer (both positions 0, [CLS])."""
    rng = np.random.default_rng(seed)
    token_ids = np.zeros((count, SEQ_LENGTH), "int64")
    segment_ids = np.zeros_like(token_ids)
    padding_mask = np.zeros_like(token_ids)
    starts, ends = np.zeros(count, "int64"), np.zeros(count, "int64")
    for row in range(count):
        length = int(rng.integers(10, SEQ_LENGTH + 1))
        token_ids[row, :length] = rng.integers(20, CONFIG.vocab_size, length)
        token_ids[row, [0, 4, length - 1]] = CLS_ID, SEP_ID, SEP_ID
        segment_ids[row, 5:length] = 1
        padding_mask[row, :length] = 1
        if rng.random() < answerable:
            starts[row] = int(rng.integers(5, length - 2))
            ends[row] = min(starts[row] + int(rng.integers(1, 4)), length - 2)
            token_ids[row, [starts[row], ends[row]]] = ANSWER_START_ID, ANSWER_END_ID
    inputs = {TOKEN_IDS: token_ids, SEGMENT_IDS: segment_ids, PADDING_MASK: padding_mask}
    return inputs, starts, ends


def _int64(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in np.ravel(values)]))


def _write_records(path, inputs, starts, ends, window_counts=None):
    """TFRecords of one window per row, or with `window_counts` of one question per row in the Transform's
    layout (text_contract/windows.py): its windows (consecutive ones) padded to max(window_counts)."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        if window_counts is None:
            for row in range(len(starts)):
                features = {name: _int64(inputs[name][row]) for name in MODEL_INPUTS}
                features.update({START_POSITIONS: _int64([starts[row]]), END_POSITIONS: _int64([ends[row]])})
                writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
            return str(path)
        assert sum(window_counts) == len(starts), (window_counts, len(starts))
        max_windows, first = max(window_counts), 0
        for count in window_counts:
            rows = slice(first, first + count)
            first += count
            padding = max_windows - count
            features = {name: _int64(np.pad(inputs[name][rows], [(0, padding), (0, 0)])) for name in MODEL_INPUTS}
            features.update({START_POSITIONS: _int64(np.pad(starts[rows], [(0, padding)])),
                             END_POSITIONS: _int64(np.pad(ends[rows], [(0, padding)])),
                             WINDOW_COUNT: _int64([count])})
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return str(path)


def _model_inputs(inputs):
    return {name: inputs[name].astype("int32") for name in MODEL_INPUTS}


def test_model_reads_the_window_features_and_outputs_position_logits():
    inputs, _, _ = _windows(4)
    model = AlbertQuestionAnswerer(AlbertEncoder.from_albert_config(CONFIG))
    assert {tensor.name for tensor in model.inputs} == set(MODEL_INPUTS)
    outputs = model(_model_inputs(inputs))
    assert set(outputs) == {START_LOGITS, END_LOGITS}
    assert tuple(outputs[START_LOGITS].shape) == (4, SEQ_LENGTH) == tuple(outputs[END_LOGITS].shape)
    with_no_answer = AlbertQuestionAnswerer(AlbertEncoder.from_albert_config(CONFIG), with_no_answer=True)
    assert tuple(with_no_answer(_model_inputs(inputs))[NO_ANSWER_SCORE].shape) == (4,)


def test_config_round_trips_and_a_saved_model_reloads(tmp_path):
    model = AlbertQuestionAnswerer(AlbertEncoder.from_albert_config(CONFIG), with_no_answer=True, name="qa")
    clone = AlbertQuestionAnswerer.from_config(model.get_config())
    assert clone.get_config() == model.get_config() and clone.with_no_answer is True
    inputs = _model_inputs(_windows(3)[0])
    model.save(str(tmp_path / "qa.keras"))
    reloaded = keras.models.load_model(str(tmp_path / "qa.keras"))
    assert isinstance(reloaded, AlbertQuestionAnswerer) and reloaded.with_no_answer
    for name, value in model(inputs).items():
        np.testing.assert_allclose(reloaded(inputs)[name], value, atol=1e-6)


@pytest.mark.parametrize("source", ["encoder", "pretrainer"])
def test_warm_start_loads_the_saved_encoder(tmp_path, source):
    encoder = AlbertEncoder.from_albert_config(CONFIG)
    for variable in encoder.weights:
        variable.assign(np.random.default_rng(3).normal(0, 0.2, variable.shape).astype("float32"))
    saved = encoder if source == "encoder" else AlbertPretrainer(encoder)
    save_model_directory(saved, str(tmp_path / "converted"), {"source": "test"})
    config = TrainingConfig(task="qa", warm_start_path=str(tmp_path / "converted"), max_seq_length=SEQ_LENGTH)
    model = build_model(config, resolve_albert_config(config))
    assert isinstance(model, AlbertQuestionAnswerer)
    assert len(model.encoder.weights) == len(encoder.weights)
    for ours, theirs in zip(model.encoder.weights, encoder.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_training_learns_where_the_answer_is():
    inputs, starts, ends = _windows(256)
    held_out, held_out_starts, held_out_ends = _windows(64, seed=1)
    config = TrainingConfig(task="qa", max_seq_length=SEQ_LENGTH, global_batch_size=32, train_steps=64,
                            checkpoint_every_steps=64, warmup_steps=0)
    model = build_model(config, CONFIG)
    compile_model(model, config, keras.optimizers.Adam(3e-3))

    def scores():
        return model.evaluate(_model_inputs(held_out), {START_LOGITS: held_out_starts, END_LOGITS: held_out_ends},
                              batch_size=64, verbose=0, return_dict=True)

    before = scores()
    model.fit(_model_inputs(inputs), {START_LOGITS: starts, END_LOGITS: ends}, epochs=8, batch_size=32, verbose=0)
    after = scores()  # 64 steps later
    # The loss is the mean of the two positions' cross-entropies.
    assert after["loss"] == pytest.approx((after["start_logits_loss"] + after["end_logits_loss"]) / 2, rel=1e-4)
    assert after["loss"] < 0.3 * before["loss"], (before, after)
    # Chance is about 1 in 13 positions (20% of the windows answer at [CLS]).
    assert after["start_logits_accuracy"] > 0.9 and after["end_logits_accuracy"] > 0.9, (before, after)


def test_pipeline_yields_window_batches_from_window_rows_and_from_question_rows(tmp_path):
    inputs, starts, ends = _windows(12)
    by_window = _write_records(tmp_path / "windows.tfrecord", inputs, starts, ends)
    by_question = _write_records(tmp_path / "questions.tfrecord", inputs, starts, ends, window_counts=[3, 1, 2, 3, 3])
    for path, max_windows in ((by_window, None), (by_question, 3)):
        training = input_pipeline.qa_dataset(path, 4, SEQ_LENGTH, max_windows=max_windows)
        model_inputs, targets = training.element_spec
        assert {name: tuple(spec.shape) for name, spec in model_inputs.items()} == {
            name: (4, SEQ_LENGTH) for name in MODEL_INPUTS}
        assert tuple(targets[START_LOGITS].shape) == (4,) == tuple(targets[END_LOGITS].shape)
        evaluation = input_pipeline.qa_dataset(path, 5, SEQ_LENGTH, shuffle=False, repeat=False,
                                               max_windows=max_windows)
        assert evaluation.cardinality() == 3  # 12 windows: two full batches and a partial one, all scored
        batches = list(evaluation)
        for name in MODEL_INPUTS:  # the questions' padding windows are gone
            np.testing.assert_array_equal(np.concatenate([b[0][name] for b in batches]), inputs[name])
        np.testing.assert_array_equal(np.concatenate([b[1][START_LOGITS] for b in batches]), starts)
        np.testing.assert_array_equal(np.concatenate([b[1][END_LOGITS] for b in batches]), ends)
    with pytest.raises(ValueError, match="max_windows must be None .* got 0"):
        input_pipeline.qa_feature_spec(SEQ_LENGTH, 0)


def test_a_position_outside_the_window_stops_the_pipeline_naming_the_feature(tmp_path):
    inputs, starts, ends = _windows(4)
    ends[2] = SEQ_LENGTH
    path = _write_records(tmp_path / "bad.tfrecord", inputs, starts, ends)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{END_POSITIONS} must be below max_seq_length"):
        list(input_pipeline.qa_dataset(path, 4, SEQ_LENGTH, shuffle=False, repeat=False))


def test_train_runs_task_qa_on_the_transforms_question_rows_with_evaluations(tmp_path):
    train_file = _write_records(tmp_path / "train.tfrecord", *_windows(64), window_counts=[4, 1, 3] * 8)
    eval_file = _write_records(tmp_path / "eval.tfrecord", *_windows(20, seed=1), window_counts=[2, 4, 4] * 2)
    CONFIG.to_json_file(str(tmp_path / "albert_config.json"))
    config = TrainingConfig(task="qa", model_dir=str(tmp_path / "model"),
                            albert_config_path=str(tmp_path / "albert_config.json"), max_seq_length=SEQ_LENGTH,
                            qa_max_windows=4, global_batch_size=8, train_steps=4, checkpoint_every_steps=2,
                            warmup_steps=1, select_best_metric="val_loss")
    result = train(config, train_file, eval_file)
    assert result.final_step == 4 and isinstance(result.model, AlbertQuestionAnswerer)
    assert len(result.history["val_start_logits_accuracy"]) == 2 and "end_logits_accuracy" in result.history
    assert result.best["metric"] == "val_loss"
    summary = json.loads((tmp_path / "model" / FINAL_DIR / SUMMARY_FILE).read_text())
    assert summary["model"] == "AlbertQuestionAnswerer" and summary["task"] == "qa"


def test_task_qa_is_validated():
    assert TrainingConfig(task="qa").resolved_optimizer() == "adamw"
    assert TrainingConfig(task="qa", qa_with_no_answer=True).qa_with_no_answer
    with pytest.raises(ConfigError, match=r"task must be one of \('pretrain', 'classify', 'qa'\), got 'squad'"):
        TrainingConfig(task="squad")
    with pytest.raises(ConfigError, match="num_classes does not apply to task 'qa'.*got 5"):
        TrainingConfig(task="qa", num_classes=5)
    with pytest.raises(ConfigError, match="epochs applies to the classification tasks"):
        TrainingConfig(task="qa", train_steps=None, epochs=2)
    with pytest.raises(ConfigError, match="class_weights"):
        TrainingConfig(task="qa", class_weights="balanced")
    with pytest.raises(ConfigError, match="qa_with_no_answer applies to task 'qa' only"):
        TrainingConfig(task="classify", qa_with_no_answer=True)
    with pytest.raises(ConfigError, match="qa_with_no_answer must be true or false"):
        TrainingConfig(task="qa", qa_with_no_answer="yes")
    assert TrainingConfig(task="qa", qa_max_windows=4).qa_max_windows == 4
    with pytest.raises(ConfigError, match="qa_max_windows must be None or an integer >= 1, got 0"):
        TrainingConfig(task="qa", qa_max_windows=0)
    with pytest.raises(ConfigError, match="qa_max_windows applies to task 'qa' only"):
        TrainingConfig(task="classify", qa_max_windows=4)
