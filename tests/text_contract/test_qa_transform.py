"""Task qa's Transform (issue 15): `preprocessing_fn` with custom_config task "qa" under a real TFT
AnalyzeAndTransformDataset run (DirectRunner, in process) on SQuAD-like English and Chinese questions; and its
options (`text_contract.transform_options`)."""

import dataclasses
import functools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from tests.text_contract import support as text_support
from text_contract import features, vocabulary
from text_contract import transform as tr
from text_contract import transform_options as options
from trainer import input_pipeline

MAX_SEQ_LENGTH, MAX_QUERY_LENGTH, DOC_STRIDE, MAX_WINDOWS = 32, 8, 8, 4

# The QA ExampleGen's features as a pipeline's schema may parse them: single values dense or VarLen, lists VarLen.
RAW_SPEC = {
    features.QA_ID: tf.io.VarLenFeature(tf.string),
    features.QA_QUESTION: tf.io.FixedLenFeature([], tf.string),
    features.QA_CONTEXT: tf.io.FixedLenFeature([], tf.string),
    features.QA_ANSWER_STARTS: tf.io.VarLenFeature(tf.int64),
    features.QA_ANSWER_TEXTS: tf.io.VarLenFeature(tf.string),
    features.QA_IS_IMPOSSIBLE: tf.io.FixedLenFeature([], tf.int64),
}

NORMANS = ("The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
           "a region in France.")
SAMURAI = ("《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。本作以三大故事为主轴，分别是以武田信玄等人"
           "为主的《关东三国志》，织田信长等人为主的《战国三杰》，石田三成等人为主的《关原的年轻武者》。")
# Long enough for several windows of 32; the answer near its end, past the first window.
LONG = " ".join(["the film was good and the story was bad"] * 4) + " but the ending was Tuesday night."
# Longer than 4 windows hold: its answer is in the tail no window keeps.
TOO_LONG = " ".join(["the film was good and the story was bad"] * 12) + " the end came on Sunday."


def _question(id_, question, context, answer=None, answers=None, impossible=0):
    answers = answers if answers is not None else ([answer] if answer else [])
    return {features.QA_ID: [id_], features.QA_QUESTION: question, features.QA_CONTEXT: context,
            features.QA_ANSWER_STARTS: [context.index(text) for text in answers],
            features.QA_ANSWER_TEXTS: answers, features.QA_IS_IMPOSSIBLE: impossible}


ROWS = [
    _question("en-1", "In what country is Normandy located?", NORMANS, answers=["France", "a region in France"]),
    _question("en-2", "When were the Normans in Normandy?", NORMANS, "10th and 11th centuries"),
    _question("zh-1", "《战国无双3》是由哪两个公司合作开发的？", SAMURAI, "光荣和ω-force"),
    _question("zh-2", "本作以几大故事为主轴？", SAMURAI, "三大故事"),
    _question("en-long", "When was the ending?", LONG, "Tuesday night"),
    _question("en-v2", "Who founded Normandy in 1066?", NORMANS, impossible=1),  # SQuAD v2.0: no answers
    _question("en-plausible", "What is Normandy?", NORMANS, "a region", impossible=1),  # marked impossible
    _question("en-tail", "When did the end come?", TOO_LONG, "Sunday"),
]
# The questions whose answer some window must hold (the others: every window targets [CLS]).
ANSWERED = {"en-1": "France", "en-2": "10th and 11th centuries", "zh-1": "光荣和ω-force", "zh-2": "三大故事",
            "en-long": "Tuesday night"}


def _qa_config(**overrides):
    return {options.SENTENCEPIECE_MODEL_PATH_KEY: str(text_support.WORDPIECE_VOCAB),
            options.TOKENIZATION_KEY: vocabulary.WORDPIECE, options.TASK_KEY: options.QA_TASK,
            options.MAX_SEQ_LENGTH_KEY: MAX_SEQ_LENGTH, options.MAX_QUERY_LENGTH_KEY: MAX_QUERY_LENGTH,
            options.DOC_STRIDE_KEY: DOC_STRIDE, options.MAX_WINDOWS_KEY: MAX_WINDOWS, **overrides}


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """The transformed rows (one per question, in order) and the TFTransformOutput of one real TFT run."""
    root = tmp_path_factory.mktemp("qa_transform")
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    fn = functools.partial(tr.preprocessing_fn, custom_config=_qa_config())
    with tft_beam.Context(temp_dir=str(root / "tft_tmp")):
        (rows, _), transform_fn = (ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(
            fn, output_record_batches=False)
        _ = transform_fn | tft_beam.WriteTransformFn(str(root / "transform"))
    return rows, tft.TFTransformOutput(str(root / "transform"))


def _id(row) -> str:
    value = row[features.QA_ID]
    return (value if isinstance(value, bytes) else value.item()).decode()


def test_each_question_is_one_row_of_windows_in_the_trainers_layout(transformed):
    rows, output = transformed
    assert [_id(row) for row in rows] == [row[features.QA_ID][0] for row in ROWS]  # the id passes through
    spec = output.transformed_feature_spec()
    expected = input_pipeline.qa_feature_spec(MAX_SEQ_LENGTH, MAX_WINDOWS)
    assert {name: spec[name] for name in expected} == expected  # what the trainer parses
    for name in (features.CONTEXT_CHAR_STARTS, features.CONTEXT_CHAR_ENDS):
        assert spec[name] == tf.io.FixedLenFeature([MAX_WINDOWS, MAX_SEQ_LENGTH], tf.int64)
    assert spec[features.QA_ID] == tf.io.FixedLenFeature([], tf.string)
    counts = {_id(row): int(row[features.WINDOW_COUNT]) for row in rows}
    assert min(counts.values()) >= 1 and counts["zh-1"] > 1 and counts["en-long"] > 1
    assert counts["en-tail"] == MAX_WINDOWS  # capped: its tail is never seen
    for row in rows:
        mask = np.asarray(row[features.PADDING_MASK]).reshape(MAX_WINDOWS, MAX_SEQ_LENGTH)
        assert (mask[:counts[_id(row)], 0] == 1).all() and (mask[counts[_id(row)]:] == 0).all()


def test_the_labelled_pieces_map_back_to_the_answer_text(transformed):
    rows, _ = transformed
    contexts = {row[features.QA_ID][0]: row[features.QA_CONTEXT] for row in ROWS}
    for row in rows:
        question = _id(row)
        starts = np.asarray(row[features.START_POSITIONS])
        ends = np.asarray(row[features.END_POSITIONS])
        char_starts = np.asarray(row[features.CONTEXT_CHAR_STARTS]).reshape(MAX_WINDOWS, MAX_SEQ_LENGTH)
        char_ends = np.asarray(row[features.CONTEXT_CHAR_ENDS]).reshape(MAX_WINDOWS, MAX_SEQ_LENGTH)
        labelled = np.flatnonzero(starts)
        if question not in ANSWERED:  # unanswerable, marked impossible, or past the kept windows
            assert not starts.any() and not ends.any(), question
            continue
        assert labelled.size, f"{question}: no window holds the answer"
        for window in labelled:
            start, end = starts[window], ends[window]
            assert 0 < start <= end < MAX_SEQ_LENGTH
            span = contexts[question][char_starts[window, start]:char_ends[window, end]]
            assert span == ANSWERED[question], (question, window, span)
        unlabelled = np.setdiff1d(np.arange(MAX_WINDOWS), labelled)
        assert not ends[unlabelled].any()
    long_row = next(row for row in rows if _id(row) == "en-long")
    assert np.asarray(long_row[features.START_POSITIONS])[0] == 0  # the answer is past the first window


def test_the_saved_graph_windows_questions_without_answers_as_serving_does(transformed):
    rows, output = transformed
    raw = {features.QA_QUESTION: tf.constant([row[features.QA_QUESTION] for row in ROWS]),
           features.QA_CONTEXT: tf.constant([row[features.QA_CONTEXT] for row in ROWS])}
    served = output.transform_features_layer()(raw)
    assert features.START_POSITIONS not in served
    for name in (features.TOKEN_IDS, features.CONTEXT_CHAR_STARTS, features.WINDOW_COUNT):
        expected = np.stack([np.asarray(row[name]) for row in rows])
        assert served[name].numpy().reshape(expected.shape).tolist() == expected.tolist(), name


def test_qa_options_default_validate_and_round_trip():
    built = options.TransformOptions(task=options.QA_TASK)
    assert built.text_features == options.QA_TEXT_FEATURES
    assert (built.max_seq_length, built.max_query_length, built.doc_stride, built.max_windows) == (
        options.DEFAULT_QA_MAX_SEQ_LENGTH, options.DEFAULT_MAX_QUERY_LENGTH, options.DEFAULT_DOC_STRIDE,
        options.DEFAULT_MAX_WINDOWS) == (256, 64, 128, 8)
    assert options.TransformOptions(text_features=("a",)).max_seq_length == options.DEFAULT_MAX_SEQ_LENGTH

    custom = dataclasses.replace(built, max_seq_length=64, max_query_length=16, doc_stride=32, max_windows=3)
    config = custom.to_custom_config()
    assert config[options.TASK_KEY] == "qa" and config[options.MAX_WINDOWS_KEY] == 3
    config[options.SENTENCEPIECE_MODEL_PATH_KEY] = "/v/vocab.txt"
    assert options.TransformOptions.from_custom_config(config) == dataclasses.replace(
        custom, sentencepiece_model_path="/v/vocab.txt")
    # Left out: the qa defaults, text_features included; classify configs say nothing of the task.
    read = options.TransformOptions.from_custom_config({options.TASK_KEY: "qa", options.SENTENCEPIECE_MODEL_PATH_KEY: "v"})
    assert read == dataclasses.replace(built, sentencepiece_model_path="v")
    assert options.TASK_KEY not in options.TransformOptions(text_features=("a",)).to_custom_config()

    for kwargs, message in [
        ({"task": "squad"}, r"\['task'\] must be one of \('classify', 'qa'\), got 'squad'"),
        ({"max_windows": 0}, r"\['max_windows'\] must be an integer >= 1, got 0"),
        ({"doc_stride": 2.5}, r"\['doc_stride'\] must be an integer >= 1, got 2.5"),
        ({"max_seq_length": 67}, r"\['max_seq_length'\]=67 must exceed max_query_length=64 \+ 3"),
        ({"max_seq_length": None}, r"\['max_seq_length'\] is null, but task 'qa' does not derive it"),
        ({"text_features": ("q", "c")}, r"\['text_features'\] is \('question', 'context'\).*got \('q', 'c'\)"),
        ({"label_feature": "label"}, r"\['label_feature'\] does not apply to task 'qa', got 'label'"),
        ({"max_text_chars": 100}, r"\['max_text_chars'\] does not apply to task 'qa', got 100"),
    ]:
        with pytest.raises(ValueError, match=message):
            options.TransformOptions(**{"task": options.QA_TASK, **kwargs})
    with pytest.raises(ValueError, match=r"\['max_windows'\] must be an integer, got 'many'"):
        options.TransformOptions.from_custom_config(_qa_config(max_windows="many"))
    with pytest.raises(ValueError, match="text_features.*is required"):  # classify still needs them
        options.TransformOptions.from_custom_config({options.SENTENCEPIECE_MODEL_PATH_KEY: "v"})
