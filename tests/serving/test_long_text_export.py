"""Long documents through export and gRPC (issue 15 item 6): a classifier over the Transform's document windows
(long_text "windows") exports with its windows' logits pooled (mean or max) in the graph, answers one row per
document on every signature, in process and over gRPC from the local server, and lines up with
`transformed_features`' per-document labels (TFMA's view); run_fn trains on the windows and exports with the
Transform's pooling.

The task is tests/serving/support/tiny_task.py's sentences as documents of windows of 8 positions (1 to 4
windows each); the models are untrained (pooling is what is tested, against the Keras model run window by window).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from serving import contract, op_check
from serving import export as export_lib
from serving.client import ClientConfig, ServingClient
from serving.model_manager import ModelConfig
from serving.server import LocalModelServer, ServerConfig
from tests.serving.support import tiny_task
from tests.serving.support.exports import in_process, push, string_tensor
from tests.trainer.support.fn_args import fake_fn_args
from text_contract import features
from text_contract import transform_options as options
from trainer import run_fn as run_fn_lib
from trainer.config import ConfigError

TEXTS = ["", "grim", "a lovely warm film with a charming cast", "the plot was bleak, dull and tedious, the music cold "
         "and the ending grim, with a poor and awful cast"]
POOLINGS = options.WINDOW_POOLINGS


@pytest.fixture(scope="module")
def task():
    return tiny_task.tiny_windows_task()


@pytest.fixture(scope="module")
def exported(task, tmp_path_factory):
    """One untrained model (a head bias away from even, so pooling shows), exported with each pooling."""
    import keras

    from trainer.config import AlbertConfig
    from trainer.tasks import build_model
    from trainer.training_config import TrainingConfig

    root = tmp_path_factory.mktemp("long-text-exports")
    albert_config = AlbertConfig.from_json_file(tiny_task.albert_config_file(str(root / "config"), task.vocab_size))
    keras.utils.set_random_seed(3)
    model = build_model(TrainingConfig(num_classes=2, max_seq_length=tiny_task.WINDOWS_MAX_SEQ_LENGTH), albert_config)
    model.classification_head.dense.bias.assign([0.3, -0.3])
    dirs = {pooling: export_lib.export_classifier(
        model, task.transform_dir, str(root / pooling), text_features=[tiny_task.TEXT_FEATURE],
        vocabulary_path=task.spm_model, window_pooling=pooling) for pooling in POOLINGS}
    return model, dirs


def _examples(texts, labels=None):
    labels = labels or [None] * len(texts)
    return [tiny_task.example(**{tiny_task.TEXT_FEATURE: text, **({tiny_task.LABEL_FEATURE: label} if label else {})})
            for text, label in zip(texts, labels)]


def _pooled_reference(model, transformed, pooling):
    """The Keras model on each window in use, one at a time, pooled by hand: what the graph must answer."""
    rows = []
    for document in range(transformed[features.TOKEN_IDS].shape[0]):
        in_use = [w for w in range(transformed[features.TOKEN_IDS].shape[1])
                  if transformed[features.PADDING_MASK][document, w, 0] == 1]
        logits = np.stack([model({name: tf.constant(transformed[name][document, w][None], tf.int32)
                                  for name in features.MODEL_INPUTS}, training=False)["logits"].numpy()[0]
                           for w in in_use])
        pooled = logits.mean(axis=0) if pooling == "mean" else logits.max(axis=0)
        rows.append(np.exp(pooled - pooled.max()) / np.exp(pooled - pooled.max()).sum())
    return np.stack(rows)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_every_signature_answers_one_row_per_document_with_its_windows_logits_pooled(exported, pooling):
    model, dirs = exported
    export_dir = dirs[pooling]
    metadata = contract.read_metadata(export_dir)
    assert metadata.long_text == {"long_text": "windows", "max_windows_per_document": 4, "window_pooling": pooling}
    assert metadata.max_seq_length == tiny_task.WINDOWS_MAX_SEQ_LENGTH
    assert contract.missing_from_contract(contract.list_signature_defs(export_dir), 1) == []
    assert op_check.check_export_ops(export_dir).ok  # the windows' gather and pooling ops are TF Serving's too

    transformed = in_process(export_dir, contract.TRANSFORM_SIGNATURE, examples=_examples(TEXTS, ["neg"] * len(TEXTS)))
    assert transformed[features.TOKEN_IDS].shape == (len(TEXTS), 4, tiny_task.WINDOWS_MAX_SEQ_LENGTH)
    windows = (transformed[features.PADDING_MASK][:, :, 0] == 1).sum(axis=1)
    assert windows[0] == windows[1] == 1 and windows[-1] == 4 and 1 < windows[2] <= 4  # short, long, capped
    assert transformed[features.LABEL_IDS].shape == (len(TEXTS),)  # TFMA's labels: one per document

    expected = _pooled_reference(model, transformed, pooling)
    predicted = in_process(export_dir, contract.PREDICT_SIGNATURE, text=TEXTS)
    np.testing.assert_allclose(predicted[contract.PROBABILITIES_OUTPUT], expected, atol=1e-5)
    assert predicted[contract.LABEL_ID_OUTPUT].tolist() == np.argmax(expected, axis=1).tolist()
    examples = in_process(export_dir, contract.EXAMPLES_SIGNATURE, examples=_examples(TEXTS))
    np.testing.assert_allclose(examples[contract.PROBABILITIES_OUTPUT], expected, atol=1e-5)
    classified = in_process(export_dir, contract.CLASSIFY_SIGNATURE, inputs=_examples(TEXTS))
    np.testing.assert_allclose(classified[contract.SCORES_OUTPUT], expected, atol=1e-5)
    empty = in_process(export_dir, contract.PREDICT_SIGNATURE, text=np.array([], np.bytes_))
    assert empty[contract.PROBABILITIES_OUTPUT].shape == (0, 2)  # no documents, no windows: nothing fails


def test_the_poolings_differ_where_windows_disagree(exported):
    _, dirs = exported
    mean, maximum = (in_process(dirs[p], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.PROBABILITIES_OUTPUT]
                     for p in POOLINGS)
    np.testing.assert_allclose(mean[:2], maximum[:2], atol=1e-6)  # one window: nothing to pool
    assert np.abs(mean[2:] - maximum[2:]).max() > 1e-4


@pytest.fixture(scope="module")
def server(exported, tmp_path_factory):
    _, dirs = exported
    root = tmp_path_factory.mktemp("long-text-serving")
    models = []
    for pooling, export_dir in dirs.items():
        push(export_dir, str(root / pooling), 1)
        models.append(ModelConfig(f"long-{pooling}", str(root / pooling)))
    server = LocalModelServer(ServerConfig(models=tuple(models), port=0, poll_interval_s=0)).start()
    for pooling in POOLINGS:
        with ServingClient(ClientConfig(server.address, f"long-{pooling}")) as client:
            client.wait_until_available(timeout_s=60)
    yield server
    server.stop()


@pytest.mark.parametrize("pooling", POOLINGS)
def test_grpc_predict_and_classify_answer_one_pooled_row_per_document_as_in_process(exported, server, pooling):
    _, dirs = exported
    expected = in_process(dirs[pooling], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.PROBABILITIES_OUTPUT]
    with ServingClient(ClientConfig(server.address, f"long-{pooling}", deadline_s=60, batch_size=3)) as client:
        predicted = client.predict(TEXTS)
        classified = client.classify(TEXTS, text_features=[tiny_task.TEXT_FEATURE])
        examples = client.call_predict(predict_pb2.PredictRequest(
            model_spec=client.model_spec(contract.EXAMPLES_SIGNATURE),
            inputs={contract.EXAMPLES_INPUT: string_tensor(_examples(TEXTS))}))
    np.testing.assert_allclose(predicted.outputs[contract.PROBABILITIES_OUTPUT], expected, atol=1e-5)
    assert len(predicted.rows(TEXTS)) == len(TEXTS)
    np.testing.assert_allclose([[score for _, score in row] for row in classified.classes], expected, atol=1e-5)
    np.testing.assert_allclose(tf.make_ndarray(examples.outputs[contract.PROBABILITIES_OUTPUT]), expected, atol=1e-5)


def test_tfma_scores_one_pooled_prediction_per_document_against_its_label(exported, task, tmp_path):
    """The Evaluator's way in (pipeline/evaluation.py): TFMA on serving_examples, labels from transformed_features;
    with windows both give one row per document, so the documents are what is counted and scored."""
    import tensorflow_model_analysis as tfma
    from google.protobuf import text_format

    _, dirs = exported
    rows = task.rows[:24]
    data = str(tmp_path / "eval.tfrecord")
    with tf.io.TFRecordWriter(data) as writer:
        for row in rows:
            writer.write(tiny_task.example(**row))
    eval_config = text_format.Parse(f"""
        model_specs {{ signature_name: "{contract.EXAMPLES_SIGNATURE}" prediction_key: "{contract.PROBABILITIES_OUTPUT}"
                      label_key: "{features.LABEL_IDS}" }}
        metrics_specs {{ metrics {{ class_name: "SparseCategoricalAccuracy" }} metrics {{ class_name: "ExampleCount" }} }}
        slicing_specs {{}}""", tfma.EvalConfig())
    result = tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(eval_saved_model_path=dirs["mean"], eval_config=eval_config),
        eval_config=eval_config, data_location=data, output_path=str(tmp_path / "tfma"))
    metrics = result.slicing_metrics[0][1][""][""]

    serialized = [tiny_task.example(**row) for row in rows]
    labels = in_process(dirs["mean"], contract.TRANSFORM_SIGNATURE, examples=serialized)[features.LABEL_IDS]
    predicted = in_process(dirs["mean"], contract.EXAMPLES_SIGNATURE, examples=serialized)[contract.LABEL_ID_OUTPUT]
    assert metrics["example_count"]["doubleValue"] == len(rows)
    assert metrics["sparse_categorical_accuracy"]["doubleValue"] == pytest.approx(np.mean(predicted == labels))


def test_pooling_is_refused_for_an_export_without_windows_and_must_be_known(exported, task, tmp_path):
    model, _ = exported
    plain = tiny_task.tiny_task()
    with pytest.raises(export_lib.ExportError, match="window_pooling='max', but the transform output packs one "
                                                     "sequence per example"):
        export_lib.export_classifier(model, plain.transform_dir, str(tmp_path / "plain"),
                                     text_features=[tiny_task.TEXT_FEATURE], window_pooling="max")
    with pytest.raises(export_lib.ExportError, match=r"window_pooling must be one of \('mean', 'max'\), got 'sum'"):
        export_lib.export_classifier(model, task.transform_dir, str(tmp_path / "sum"),
                                     text_features=[tiny_task.TEXT_FEATURE], window_pooling="sum")
    assert not os.path.exists(tmp_path / "plain") and not os.path.exists(tmp_path / "sum")


def _run_fn_config(task, **transform):
    return {
        run_fn_lib.TRAINING_CONFIG_KEY: {"task": "classify", "global_batch_size": 8, "train_steps": 4,
                                         "checkpoint_every_steps": 4, "warmup_steps": 1, "learning_rate": 1e-3,
                                         "log_every_steps": 4, "strategy": "default", "class_weights": "balanced"},
        # As a pipeline hands it on: the Transform's custom_config (here without VocabTransform's record).
        **task.transform_config, **transform,
        run_fn_lib.MODEL_NAME_KEY: "long-reviews",
    }


def test_run_fn_trains_on_windows_and_exports_with_the_transform_pooling(task, tmp_path):
    fn_args = fake_fn_args(tmp_path, _run_fn_config(task, window_pooling="max"), train_files=task.train_files,
                           eval_files=task.eval_files, transform_output=task.transform_dir, eval_steps=1)
    run_fn_lib.run_fn(fn_args)
    metadata = contract.read_metadata(fn_args.serving_model_dir)
    assert metadata.long_text[options.WINDOW_POOLING_KEY] == "max"
    training = metadata.extra["training_config"]
    assert training["max_windows_per_document"] == 4 and training["max_seq_length"] == 8
    # Balanced class weights counted the windows (the training examples), not the documents.
    assert sum(training["train_label_counts"]) > 48
    out = in_process(fn_args.serving_model_dir, contract.PREDICT_SIGNATURE, text=TEXTS)
    assert out[contract.PROBABILITIES_OUTPUT].shape == (len(TEXTS), 2)

    bad = fake_fn_args(tmp_path / "bad", _run_fn_config(task, max_windows_per_document=3),
                       train_files=task.train_files, eval_files=None, transform_output=task.transform_dir)
    with pytest.raises(ConfigError, match="say windows of 8 positions, 3 per document, but its output has 8 and 4"):
        run_fn_lib.run_fn(bad)
