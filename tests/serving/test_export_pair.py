"""A sentence-pair export: `text` and `text_pair` in, dense raw features, integer labels, three classes."""

import functools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from serving import contract
from serving import export as export_lib
from tests.serving.support import tiny_task
from text_contract import transform
from text_contract import transform_options
from trainer.config import AlbertConfig
from trainer.tasks import build_model
from trainer.training_config import TrainingConfig

PAIRS = [("a good film", "the cast was fine"), ("", "dull"), ("grim ending " * 30, "bright music " * 30),
         ("this story", "")]


@pytest.fixture(scope="module")
def pair_export(tmp_path_factory):
    task = tiny_task.tiny_task()
    root = tmp_path_factory.mktemp("pair")
    rows = [{"premise": r[tiny_task.TEXT_FEATURE], "hypothesis": r[tiny_task.TEXT_FEATURE][::-1], "label": i % 3}
            for i, r in enumerate(task.rows[:24])]
    spec = {"premise": tf.io.FixedLenFeature([], tf.string), "hypothesis": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64)}
    config = {transform_options.SENTENCEPIECE_MODEL_PATH_KEY: task.spm_model, transform_options.TEXT_FEATURES_KEY: ["premise", "hypothesis"],
              transform_options.LABEL_FEATURE_KEY: "label", transform_options.LABEL_VALUES_KEY: [0, 1, 2], transform_options.MAX_SEQ_LENGTH_KEY: 24}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    transform_dir = str(root / "transform")
    with tft_beam.Context(temp_dir=str(root / "tmp")):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(
            functools.partial(transform.preprocessing_fn, custom_config=config))
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
    metadata_io.write_metadata(metadata, f"{transform_dir}/metadata")
    albert_config = AlbertConfig.from_json_file(tiny_task.albert_config_file(str(root / "config"), task.vocab_size))
    model = build_model(TrainingConfig(num_classes=3, max_seq_length=24), albert_config)
    export_dir = export_lib.export_classifier(model, transform_dir, str(root / "export"),
                                              text_features=["premise", "hypothesis"])
    return model, transform_dir, export_dir


def test_pair_signature_takes_text_and_text_pair_and_agrees_with_keras(pair_export):
    model, transform_dir, export_dir = pair_export
    signatures = contract.list_signature_defs(export_dir)
    assert sorted(signatures[contract.PREDICT_SIGNATURE].inputs) == [contract.TEXT_INPUT, contract.TEXT_PAIR_INPUT]
    assert contract.missing_from_contract(signatures, 2) == []
    assert contract.read_metadata(export_dir).label_names == ("0", "1", "2")

    loaded = tf.saved_model.load(export_dir)
    first, second = (list(t) for t in zip(*PAIRS))
    out = loaded.signatures[contract.PREDICT_SIGNATURE](text=tf.constant(first), text_pair=tf.constant(second))
    probabilities = out[contract.PROBABILITIES_OUTPUT].numpy()
    assert probabilities.shape == (len(PAIRS), 3)

    examples = [tiny_task.example(premise=a, hypothesis=b) for a, b in PAIRS]
    by_example = loaded.signatures[contract.EXAMPLES_SIGNATURE](examples=tf.constant(examples))
    np.testing.assert_allclose(by_example[contract.PROBABILITIES_OUTPUT].numpy(), probabilities, atol=1e-6)
    classified = loaded.signatures[contract.CLASSIFY_SIGNATURE](inputs=tf.constant(examples))
    assert classified[contract.CLASSES_OUTPUT].numpy().astype(str).tolist() == [["0", "1", "2"]] * len(PAIRS)

    transformed = export_lib.transform_output(transform_dir).transform_features_layer()(
        {"premise": tf.constant(first), "hypothesis": tf.constant(second)})
    assert transformed["token_ids"].shape == (len(PAIRS), 24)
    inputs = {name: tf.cast(transformed[name], tf.int32) for name in export_lib.MODEL_INPUTS}
    expected = tf.nn.softmax(model(inputs, training=False)["logits"]).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
