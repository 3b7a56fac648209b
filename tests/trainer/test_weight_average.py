"""Weight averaging: the moving average's dynamic decay, evaluations that score the averages, the export that
holds them, and the checkpoint that carries them across a restart."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.support.synthetic_data import write_classification_records
from trainer import input_pipeline
from trainer.callbacks import WeightAverage
from trainer.config import ConfigError
from trainer.train import CHECKPOINT_DIR, train
from trainer.training_config import TrainingConfig


def _dense_model() -> keras.Model:
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(loss="mse")
    return model


def test_the_average_follows_the_dynamic_decay_and_evaluations_swap_it_in_and_out():
    model = _dense_model()
    average = WeightAverage(decay=0.5)
    average.set_model(model)
    average.attach(model)
    expected = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(0)
    for step in range(1, 13):
        model.set_weights([rng.normal(size=w.shape).astype("float32") for w in expected])
        average.on_train_batch_end(step - 1)
        decay = min(0.5, (1 + step) / (10 + step))  # the cap binds from step 8 on
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, model.get_weights())]
    for stored, wanted in zip(average.state.averages, expected):
        np.testing.assert_allclose(stored.numpy(), wanted, rtol=1e-5)
    assert int(average.state.count.numpy()) == 12

    trained = model.get_weights()
    average.on_test_begin()
    for ours, wanted in zip(model.get_weights(), expected):
        np.testing.assert_allclose(ours, wanted, rtol=1e-5)
    average.on_test_end()
    for ours, wanted in zip(average.evaluated_weights(), expected):
        np.testing.assert_allclose(ours, wanted, rtol=1e-5)
    for ours, wanted in zip(model.get_weights(), trained):
        np.testing.assert_array_equal(ours, wanted)
    average.apply()
    for ours, wanted in zip(model.get_weights(), expected):
        np.testing.assert_allclose(ours, wanted, rtol=1e-5)

    with pytest.raises(ValueError, match="decay must be in"):
        WeightAverage(decay=1.0)
    with pytest.raises(RuntimeError, match="before any evaluation"):
        WeightAverage(decay=0.9).evaluated_weights()
    with pytest.raises(ConfigError, match="weight_average_decay"):
        TrainingConfig(weight_average_decay=1.5)


def test_training_evaluates_and_exports_the_averages_and_a_restart_carries_them_on(tmp_path):
    train_file = write_classification_records(tmp_path / "train.tfrecord", count=64, seq_length=16)
    eval_file = write_classification_records(tmp_path / "eval.tfrecord", count=32, seq_length=16, seed=1)
    config = TrainingConfig(task="classify", model_dir=str(tmp_path / "model"), max_seq_length=16,
                            global_batch_size=8, train_steps=12, checkpoint_every_steps=6, warmup_steps=2,
                            learning_rate=1e-2, weight_average_decay=0.9, strategy="default")
    first = train(config.replace(train_steps=6), train_file, eval_file)
    reader_path = str(tmp_path / "model" / CHECKPOINT_DIR)
    reader = tf.train.load_checkpoint(reader_path)
    count_key, = [name for name, _ in tf.train.list_variables(reader_path) if name.startswith("weight_average/count")]
    assert reader.get_tensor(count_key) == 6 and first.final_step == 6

    result = train(config, train_file, eval_file)  # resumes at step 6: the averages go on from the checkpoint's
    assert result.resumed_from_step == 6 and result.final_step == 12
    reader = tf.train.load_checkpoint(reader_path)
    assert reader.get_tensor(count_key) == 12
    names = dict(tf.train.list_variables(reader_path))
    averages = [reader.get_tensor(f"weight_average/averages/{i}/.ATTRIBUTES/VARIABLE_VALUE")
                for i in range(len(result.model.trainable_variables))]
    assert len(names) > len(averages)
    for exported, stored in zip(result.model.trainable_variables, averages):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(exported), stored, rtol=1e-6)

    # The checkpoint's trained weights differ from the averages the run exported, and the last evaluation
    # scored the exported averages, not the trained weights.
    trained = train(config.replace(model_dir=str(tmp_path / "plain"), weight_average_decay=0.0), train_file, eval_file)
    evaluation = input_pipeline.classification_dataset(eval_file, 8, 16, shuffle=False, repeat=False)
    exported_loss = result.model.evaluate(evaluation, verbose=0, return_dict=True)["loss"]
    assert exported_loss == pytest.approx(result.history["val_loss"][-1], rel=1e-4)
    assert max(float(np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b))))
               for a, b in zip(result.model.trainable_variables, trained.model.trainable_variables)) > 1e-4
