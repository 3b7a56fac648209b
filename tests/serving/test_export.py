"""The exported SavedModel fulfils the serving contract: signatures, method names, outputs, metadata, atomicity.

One tiny classifier is trained (150 steps) on the shared tiny task and exported once; a fresh process
loads the export and records every signature's answers (tests/serving/support/saved_model_probe.py).
"""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from serving import contract
from serving import export as export_lib
from tests.serving.support import tiny_task
from trainer.train import train
from trainer.training_config import TrainingConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEXTS = [
    "a good and lovely film",
    "",  # empty text: [CLS] [SEP]
    "The plot was grim, dull and tedious.",
    "unseen wörds ünïcode 文字 " * 20,  # longer than max_seq_length: truncated by the transform
    "  bright   warm\tmusic ",
]
LABELS = ["pos", "neg", "neg", "unknown", "pos"]


@pytest.fixture(scope="module")
def task():
    return tiny_task.tiny_task()


@pytest.fixture(scope="module")
def trained(task, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    config = TrainingConfig(
        task="classify", model_dir=str(root / "model"),
        albert_config_path=tiny_task.albert_config_file(str(root / "config"), task.vocab_size),
        num_classes=len(tiny_task.LABELS), max_seq_length=tiny_task.MAX_SEQ_LENGTH, global_batch_size=8,
        train_steps=150, checkpoint_every_steps=150, warmup_steps=3, learning_rate=5e-4, classifier_dropout=0.0,
        log_every_steps=50, strategy="default")  # ~8 s; learns the task, so label mix-ups show in accuracy
    model = train(config, task.train_files, task.eval_files).model
    export_dir = export_lib.export_classifier(
        model, task.transform_dir, str(root / "serving" / "1"), text_features=[tiny_task.TEXT_FEATURE],
        vocabulary_path=task.spm_model, preset="tiny", model_name="tiny-sentiment")
    return model, export_dir, root


@pytest.fixture(scope="module")
def probe(trained, tmp_path_factory):
    """What a fresh process that loads the export gets from every signature."""
    _, export_dir, _ = trained
    work = tmp_path_factory.mktemp("probe")
    request = work / "request.json"
    request.write_text(json.dumps({"texts": TEXTS, "text_feature": tiny_task.TEXT_FEATURE, "labels": LABELS,
                                   "label_feature": tiny_task.LABEL_FEATURE}), encoding="utf-8")
    result = work / "result.json"
    subprocess.run([sys.executable, "-W", "ignore", "-m", "tests.serving.support.saved_model_probe", export_dir,
                    str(request), str(result)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(result.read_text(encoding="utf-8"))


def _keras_probabilities(model, transform_dir, texts):
    """The Keras model's probabilities on the transform's output for `texts` (in this process)."""
    layer = export_lib.transform_output(transform_dir).transform_features_layer()
    n = len(texts)
    sparse = tf.SparseTensor(np.stack([np.arange(n), np.zeros(n, int)], 1), tf.constant(texts), [n, 1])
    transformed = layer({tiny_task.TEXT_FEATURE: sparse})
    inputs = {name: tf.cast(transformed[name], tf.int32) for name in export_lib.MODEL_INPUTS}
    assert transformed["token_ids"].shape[1] == tiny_task.MAX_SEQ_LENGTH
    return tf.nn.softmax(tf.cast(model(inputs, training=False)["logits"], tf.float32)).numpy()


def test_signatures_and_method_names_follow_the_contract(probe, trained):
    signatures = probe["signatures"]
    assert signatures[contract.PREDICT_SIGNATURE] == {
        "method_name": contract.PREDICT_METHOD_NAME, "inputs": [contract.TEXT_INPUT],
        "outputs": sorted(contract.PREDICT_OUTPUTS)}
    assert signatures[contract.EXAMPLES_SIGNATURE] == {
        "method_name": contract.PREDICT_METHOD_NAME, "inputs": [contract.EXAMPLES_INPUT],
        "outputs": sorted(contract.PREDICT_OUTPUTS)}
    assert signatures[contract.CLASSIFY_SIGNATURE] == {
        "method_name": "tensorflow/serving/classify", "inputs": ["inputs"], "outputs": ["classes", "scores"]}
    assert signatures[contract.TRANSFORM_SIGNATURE] == {
        "method_name": contract.PREDICT_METHOD_NAME, "inputs": [contract.EXAMPLES_INPUT],
        "outputs": sorted(contract.TRANSFORM_OUTPUTS)}
    assert contract.missing_from_contract(contract.list_signature_defs(trained[1]), 1) == []
    assert probe["other_packages"] == []
    # The rewritten saved_model.pb and its fingerprint agree.
    fingerprint = tf.saved_model.experimental.read_fingerprint(trained[1])
    assert fingerprint.saved_model_checksum != 0


def test_serving_default_answers_raw_text_with_a_dynamic_batch(probe):
    predict = probe["predict"]
    probabilities = np.array(predict[contract.PROBABILITIES_OUTPUT])
    assert probabilities.shape == (len(TEXTS), len(tiny_task.LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert set(predict[contract.LABEL_OUTPUT]) <= set(tiny_task.LABELS)
    assert predict[contract.LABEL_OUTPUT][0] == "pos" and predict[contract.LABEL_OUTPUT][2] == "neg"  # it learned
    assert predict[contract.LABEL_ID_OUTPUT] == probabilities.argmax(axis=1).tolist()
    one = probe["predict_one"]
    assert np.array(one[contract.PROBABILITIES_OUTPUT]).shape == (1, len(tiny_task.LABELS))
    np.testing.assert_allclose(one[contract.PROBABILITIES_OUTPUT][0], probabilities[0], atol=1e-6)


def test_label_names_come_from_the_transform_vocabulary(probe, task):
    names = [n.decode() for n in export_lib.transform_output(task.transform_dir).vocabulary_by_name("label_vocabulary")]
    predict = probe["predict"]
    assert predict[contract.LABEL_OUTPUT] == [names[i] for i in predict[contract.LABEL_ID_OUTPUT]]
    assert probe["classify"][contract.CLASSES_OUTPUT] == [names] * len(TEXTS)


def test_examples_and_classify_agree_with_serving_default(probe):
    predict, examples, classify = probe["predict"], probe["examples"], probe["classify"]
    np.testing.assert_allclose(examples[contract.PROBABILITIES_OUTPUT], predict[contract.PROBABILITIES_OUTPUT], atol=1e-6)
    assert examples[contract.LABEL_OUTPUT] == predict[contract.LABEL_OUTPUT]
    np.testing.assert_allclose(classify[contract.SCORES_OUTPUT], predict[contract.PROBABILITIES_OUTPUT], atol=1e-6)
    # The session loader (TF Serving's way: SignatureDef tensor names + init op) gives the same answer.
    session = probe["session_classify"]
    np.testing.assert_allclose(session[contract.SCORES_OUTPUT], classify[contract.SCORES_OUTPUT], atol=1e-6)
    assert session[contract.CLASSES_OUTPUT] == classify[contract.CLASSES_OUTPUT]


def test_transformed_features_gives_the_label_ids_the_model_was_trained_on(probe, task):
    names = [n.decode() for n in export_lib.transform_output(task.transform_dir).vocabulary_by_name("label_vocabulary")]
    transformed = probe["transformed"]
    assert transformed["label_ids"] == [names.index(label) if label in names else -1 for label in LABELS]
    assert np.array(transformed["token_ids"]).shape == (len(TEXTS), tiny_task.MAX_SEQ_LENGTH)
    assert transformed["token_ids"][1][:3] == [2, 3, 0]  # empty text: [CLS] [SEP] <pad>


def test_outputs_equal_the_keras_model_on_the_transformed_inputs(probe, trained, task):
    model, _, _ = trained
    expected = _keras_probabilities(model, task.transform_dir, TEXTS)
    np.testing.assert_allclose(probe["predict"][contract.PROBABILITIES_OUTPUT], expected, atol=1e-5)


def test_metadata_asset_describes_the_model(trained, task):
    _, export_dir, _ = trained
    metadata = contract.read_metadata(export_dir)
    assert metadata.model_name == "tiny-sentiment" and metadata.preset == "tiny"
    assert sorted(metadata.label_names) == sorted(tiny_task.LABELS) and metadata.num_classes == 2
    assert metadata.text_features == (tiny_task.TEXT_FEATURE,) and metadata.input_keys == (contract.TEXT_INPUT,)
    assert metadata.max_seq_length == tiny_task.MAX_SEQ_LENGTH
    assert metadata.albert_config["vocab_size"] == task.vocab_size
    with open(task.spm_model, "rb") as handle:
        assert metadata.vocabulary_sha256 == hashlib.sha256(handle.read()).hexdigest()
    assert metadata.vocabulary_size == task.vocab_size
    assert metadata.signatures[contract.CLASSIFY_SIGNATURE]["method_name"] == contract.CLASSIFY_METHOD_NAME
    assert metadata.contract_version == contract.CONTRACT_VERSION
    assert os.stat(export_dir).st_mode & 0o055 == 0o055  # readable by a server running as another user


def test_a_failed_export_leaves_no_partial_directory_and_keeps_the_previous_one(trained, task, monkeypatch):
    model, export_dir, root = trained
    with open(os.path.join(export_dir, contract.SAVED_MODEL_FILE), "rb") as handle:
        before = handle.read()

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_lib, "set_signature_method_names", fail)  # after the SavedModel is written
    fresh = str(root / "serving" / "2")
    with pytest.raises(RuntimeError, match="disk full"):
        export_lib.export_classifier(model, task.transform_dir, fresh, text_features=[tiny_task.TEXT_FEATURE])
    assert not os.path.exists(fresh)
    with pytest.raises(RuntimeError, match="disk full"):
        export_lib.export_classifier(model, task.transform_dir, export_dir, text_features=[tiny_task.TEXT_FEATURE],
                                     overwrite=True)
    with open(os.path.join(export_dir, contract.SAVED_MODEL_FILE), "rb") as handle:
        assert handle.read() == before
    assert sorted(os.listdir(root / "serving")) == ["1"]  # no staging or retired directories left


def test_bad_arguments_fail_before_writing_anything(trained, task):
    model, export_dir, root = trained
    target = str(root / "never")
    with pytest.raises(FileExistsError):
        export_lib.export_classifier(model, task.transform_dir, export_dir, text_features=[tiny_task.TEXT_FEATURE])
    with pytest.raises(export_lib.ExportError, match="'sentense'"):
        export_lib.export_classifier(model, task.transform_dir, target, text_features=["sentense"])
    with pytest.raises(export_lib.ExportError, match="3 label names"):
        export_lib.export_classifier(model, task.transform_dir, target, text_features=[tiny_task.TEXT_FEATURE],
                                     label_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="one text or a pair"):
        export_lib.export_classifier(model, task.transform_dir, target, text_features=["a", "b", "c"])
    assert not os.path.exists(target)


def test_tfma_evaluates_the_export_against_the_transformed_label_ids(trained, task, tmp_path):
    """The Evaluator's way in: TFMA on serving_examples, labels from the transformed_features signature."""
    import tensorflow_model_analysis as tfma
    from google.protobuf import text_format

    model, export_dir, _ = trained
    rows = task.rows[48:]
    data = str(tmp_path / "eval.tfrecord")
    with tf.io.TFRecordWriter(data) as writer:
        for row in rows:
            writer.write(tiny_task.example(**row))
    eval_config = text_format.Parse(f"""
        model_specs {{ signature_name: "{contract.EXAMPLES_SIGNATURE}" prediction_key: "{contract.PROBABILITIES_OUTPUT}"
                      label_key: "label_ids" }}
        metrics_specs {{ metrics {{ class_name: "SparseCategoricalAccuracy" }} metrics {{ class_name: "ExampleCount" }} }}
        slicing_specs {{}}""", tfma.EvalConfig())
    result = tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(eval_saved_model_path=export_dir, eval_config=eval_config),
        eval_config=eval_config, data_location=data, output_path=str(tmp_path / "tfma"))
    metrics = result.slicing_metrics[0][1][""][""]

    names = [n.decode() for n in export_lib.transform_output(task.transform_dir).vocabulary_by_name("label_vocabulary")]
    predicted = _keras_probabilities(model, task.transform_dir, [r[tiny_task.TEXT_FEATURE] for r in rows]).argmax(1)
    expected = np.mean([p == names.index(r[tiny_task.LABEL_FEATURE]) for p, r in zip(predicted, rows)])
    assert expected > 0.75  # the model learned the task: a label-id mix-up would change the accuracy
    assert metrics["example_count"]["doubleValue"] == len(rows)
    assert metrics["sparse_categorical_accuracy"]["doubleValue"] == pytest.approx(expected)
