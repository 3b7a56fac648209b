"""`run_fn` for task qa (issue 15): the Transform output's per-question windows -> training -> the export hook.

The transform output is synthetic: the transformed metadata TFT writes (for the feature spec the qa Transform
makes) and TFRecords of question rows in that layout; tests/text_contract/test_qa_transform.py runs the real
Transform."""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from tests.text_contract import support as text_support
from tests.trainer.support.fn_args import fake_fn_args
from text_contract import features, vocabulary
from text_contract import transform_options as options
from text_contract.pieces import CLS_ID, SEP_ID
from trainer import input_pipeline
from trainer import run_fn as run_fn_lib
from trainer.config import AlbertConfig, ConfigError
from trainer.question_answering import AlbertQuestionAnswerer
from trainer.train import FINAL_DIR, METRICS_FILE

SEQ_LENGTH, MAX_WINDOWS = 16, 3
EXPORT_QA = run_fn_lib._export_qa  # the hook (the tests replace it on the module to record its call)
# The qa Transform's custom_config for these windows (a 100-entry WordPiece vocabulary).
TRANSFORM_CONFIG = {options.TASK_KEY: options.QA_TASK, options.TOKENIZATION_KEY: vocabulary.WORDPIECE,
                    options.MAX_SEQ_LENGTH_KEY: SEQ_LENGTH, options.MAX_QUERY_LENGTH_KEY: 6,
                    options.DOC_STRIDE_KEY: 4, options.MAX_WINDOWS_KEY: MAX_WINDOWS}
CONFIG = AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=SEQ_LENGTH)


def _int64(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in np.ravel(values)]))


def _transformed_spec(max_seq_length=SEQ_LENGTH, max_windows=MAX_WINDOWS):
    """The transformed feature spec of the qa Transform (text_contract.transform.qa_windows)."""
    windows = tf.io.FixedLenFeature([max_windows, max_seq_length], tf.int64)
    return {**input_pipeline.qa_feature_spec(max_seq_length, max_windows),
            features.CONTEXT_CHAR_STARTS: windows, features.CONTEXT_CHAR_ENDS: windows,
            features.QA_ID: tf.io.FixedLenFeature([], tf.string)}


def _write_transform_output(root, spec, questions=24, seed=0, recorded=True):
    """A transform graph directory (its transformed_metadata; with `recorded`, what VocabTransform adds: the
    vocabulary's copy and the Transform's custom_config) and gzipped TFRecords of question rows: 1 to
    MAX_WINDOWS windows, each answer marked by the pieces 7 ... 8 (absent: the window targets [CLS], 0)."""
    transform_dir = os.path.join(root, "transform_graph")
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec)),
                               os.path.join(transform_dir, "transformed_metadata"))
    if recorded:
        os.makedirs(os.path.join(transform_dir, os.path.dirname(features.TRANSFORM_VOCABULARY_FILE)))
        with open(os.path.join(transform_dir, features.TRANSFORM_VOCABULARY_FILE), "wb") as handle:
            handle.write(text_support.WORDPIECE_VOCAB_100.read_bytes())
        with open(os.path.join(transform_dir, features.TRANSFORM_OPTIONS_FILE), "w") as handle:
            json.dump({**TRANSFORM_CONFIG, options.SENTENCEPIECE_MODEL_PATH_KEY: "/vocabulary/artifact/vocab.txt"},
                      handle)
    rng = np.random.default_rng(seed)
    path = os.path.join(root, "transformed", "Split-train", "transformed_examples-00000-of-00001.gz")
    os.makedirs(os.path.dirname(path))
    shape = (MAX_WINDOWS, SEQ_LENGTH)
    with tf.io.TFRecordWriter(path, "GZIP") as writer:
        for question in range(questions):
            count = int(rng.integers(1, MAX_WINDOWS + 1))
            tokens, segments, mask, offsets = (np.zeros(shape, int) for _ in range(4))
            starts, ends = np.zeros(MAX_WINDOWS, int), np.zeros(MAX_WINDOWS, int)
            for window in range(count):
                tokens[window] = rng.integers(20, CONFIG.vocab_size, SEQ_LENGTH)
                tokens[window, [0, 4, SEQ_LENGTH - 1]] = CLS_ID, SEP_ID, SEP_ID
                segments[window, 5:], mask[window] = 1, 1
                if rng.random() < 0.7:
                    starts[window] = int(rng.integers(5, SEQ_LENGTH - 3))
                    ends[window] = starts[window] + int(rng.integers(0, 2))
                    tokens[window, [starts[window], ends[window] + 1]] = 7, 8
            values = {features.TOKEN_IDS: tokens, features.SEGMENT_IDS: segments, features.PADDING_MASK: mask,
                      features.START_POSITIONS: starts, features.END_POSITIONS: ends, features.WINDOW_COUNT: [count],
                      features.CONTEXT_CHAR_STARTS: offsets - 1, features.CONTEXT_CHAR_ENDS: offsets - 1}
            feature = {name: _int64(value) for name, value in values.items()}
            feature[features.QA_ID] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"q%d" % question]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return transform_dir, os.path.join(os.path.dirname(path), "*.gz")


def _qa_config(tmp_path, **training):
    CONFIG.to_json_file(str(tmp_path / "albert_config.json"))
    return {run_fn_lib.TRAINING_CONFIG_KEY: {
        "task": "qa", "albert_config_path": str(tmp_path / "albert_config.json"), "global_batch_size": 8,
        "train_steps": 4, "checkpoint_every_steps": 2, "warmup_steps": 1, "learning_rate": 1e-3,
        "log_every_steps": 2, "strategy": "default", **training}}


@pytest.fixture
def recorded_export(monkeypatch):
    calls = []
    monkeypatch.setattr(run_fn_lib, "_export_qa", lambda model, options, export_dir, **details: calls.append(
        (model, options, export_dir, details)))
    return calls


def test_run_fn_qa_takes_the_windows_from_the_transform_output_and_trains(tmp_path, recorded_export):
    transform_dir, files = _write_transform_output(str(tmp_path), _transformed_spec())
    fn_args = fake_fn_args(tmp_path, _qa_config(tmp_path), train_files=files, eval_files=files,
                           transform_output=transform_dir, eval_steps=1)
    run_fn_lib.run_fn(fn_args)

    with open(os.path.join(fn_args.model_run_dir, METRICS_FILE)) as handle:
        assert json.load(handle)["final_step"] == 4
    assert os.path.exists(os.path.join(fn_args.model_run_dir, FINAL_DIR, "model.weights.h5"))
    [(model, transform, export_dir, details)] = recorded_export
    assert isinstance(model, AlbertQuestionAnswerer) and export_dir == fn_args.serving_model_dir
    # The Transform's own settings, from VocabTransform's record; the vocabulary: the copy in the transform graph.
    assert (transform.tokenization, transform.max_query_length, transform.doc_stride) == ("wordpiece", 6, 4)
    assert transform.sentencepiece_model_path == os.path.join(transform_dir, features.TRANSFORM_VOCABULARY_FILE)
    assert details["with_no_answer"] is False and "model_name" not in details
    trained = details["extra_metadata"][run_fn_lib.TRAINING_CONFIG_KEY]
    assert (trained["task"], trained["max_seq_length"], trained["qa_max_windows"]) == ("qa", SEQ_LENGTH, MAX_WINDOWS)



def test_the_export_hook_exports_with_the_transforms_tokenizer_and_window_settings(tmp_path):
    """serving/qa_export.py's export_qa_model; NotImplementedError naming it while that module does not exist."""
    from trainer.tasks import build_model
    from trainer.training_config import TrainingConfig

    model = build_model(TrainingConfig(task="qa", max_seq_length=SEQ_LENGTH, qa_with_no_answer=True), CONFIG)
    transform = options.TransformOptions.from_custom_config(
        {**TRANSFORM_CONFIG, options.SENTENCEPIECE_MODEL_PATH_KEY: str(text_support.WORDPIECE_VOCAB_100)})
    export_dir = str(tmp_path / "export")
    details = {"with_no_answer": True, "preset": None, "extra_metadata": {"final_step": 4}}
    if importlib.util.find_spec("serving.qa_export") is None:
        with pytest.raises(NotImplementedError, match="qa export: serving/qa_export.py"):
            EXPORT_QA(model, transform, export_dir, **details)
        return
    from serving import contract

    EXPORT_QA(model, transform, export_dir, **details)
    metadata = contract.read_metadata(export_dir)
    assert metadata.task == contract.TASK_QA and metadata.max_seq_length == SEQ_LENGTH
    assert metadata.extra["final_step"] == 4


def test_run_fn_qa_refuses_a_config_or_transform_output_that_does_not_fit(tmp_path, recorded_export):
    transform_dir, files = _write_transform_output(str(tmp_path), _transformed_spec())

    def run(config, transform_output=transform_dir, **kwargs):
        run_fn_lib.run_fn(fake_fn_args(tmp_path, config, train_files=files, eval_files=None,
                                       transform_output=transform_output, **kwargs))

    with pytest.raises(ConfigError, match=r"qa_max_windows'\]=4, but the Transform output says 3"):
        run(_qa_config(tmp_path, qa_max_windows=4))
    with pytest.raises(ConfigError, match="epochs applies to the classification tasks"):  # a step budget only
        run(_qa_config(tmp_path, train_steps=None, epochs=2))
    with pytest.raises(ConfigError, match="needs the Transform output"):
        run(_qa_config(tmp_path), transform_output=None)
    with pytest.raises(ConfigError, match="warm_start_from_served"):
        run({**_qa_config(tmp_path), run_fn_lib.WARM_START_FROM_SERVED_KEY: str(tmp_path / "served")})

    bare_dir = tmp_path / "bare"  # a transform graph without VocabTransform's record and vocabulary copy
    bare_dir.mkdir()
    bare_transform, _ = _write_transform_output(str(bare_dir), _transformed_spec(), recorded=False)
    with pytest.raises(ConfigError, match=r"the Trainer's custom_config\) say task 'qa', max_seq_length 256 and "
                                          r"max_windows 8, but its output has task 'qa' windows of 16 x 3"):
        run(_qa_config(tmp_path), transform_output=bare_transform)
    with pytest.raises(ConfigError, match="exports the Transform's tokenizer: name the vocabulary"):
        run({**_qa_config(tmp_path), **TRANSFORM_CONFIG}, transform_output=bare_transform)
    assert not recorded_export

    classify_dir = tmp_path / "classify"  # a classify Transform's output: one sequence per row
    classify_dir.mkdir()
    spec = {name: tf.io.FixedLenFeature([SEQ_LENGTH], tf.int64) for name in features.MODEL_INPUTS}
    classify_transform, _ = _write_transform_output(str(classify_dir), spec)
    with pytest.raises(ConfigError, match=r"per-question windows \('token_ids' fixed-length \[max_windows"):
        run(_qa_config(tmp_path), transform_output=classify_transform)

    wrong = _transformed_spec()
    wrong[features.WINDOW_COUNT] = tf.io.FixedLenFeature([1], tf.int64)
    with pytest.raises(ConfigError, match="'window_count'.*differ from what the trainer reads for task qa"):
        run_fn_lib.qa_shape_from_transform(wrong)
    assert run_fn_lib.qa_shape_from_transform(_transformed_spec()) == (SEQ_LENGTH, MAX_WINDOWS)
