"""Reading the eval questions from QaExampleGen's records: gold answers (none for an unanswerable question), the
cap on questions, the order of files, and bad records named by file, record and feature."""

import os

import pytest
import tensorflow as tf

from components.qa_evaluator import questions as questions_lib
from components.qa_evaluator.questions import EvalQuestion
from components.qa_example_gen import beam_pipeline
from tests.components.qa_evaluator import support
from text_contract import features

CONTEXT = "The quick brown fox jumps over the lazy dog."


def _split_dir(tmp_path, items, **options) -> str:
    artifact = support.examples_artifact(str(tmp_path / "examples"), items, **options)
    return os.path.join(artifact.uri, "Split-eval")


def test_questions_read_back_as_written(tmp_path):
    items = [support.question("q0", "Who jumps?", CONTEXT, ["fox", "the fox"]),
             support.question("q1", "谁?", "北京是中国的首都。", ["北京"]),
             support.question("q2", "Why?", CONTEXT, impossible=True)]
    assert questions_lib.read_questions(_split_dir(tmp_path, items)) == [
        EvalQuestion("q0", "Who jumps?", CONTEXT, ("fox", "the fox")),
        EvalQuestion("q1", "谁?", "北京是中国的首都。", ("北京",)),
        EvalQuestion("q2", "Why?", CONTEXT, ())]


def test_an_impossible_question_has_no_gold_answer_whatever_its_answer_texts(tmp_path):
    odd = support.question("q0", "Who?", CONTEXT, ["fox"], impossible=True)  # QaExampleGen never writes this
    assert questions_lib.read_questions(_split_dir(tmp_path, [odd]))[0].gold_answers == ()


def test_the_cap_keeps_the_first_questions_in_file_order(tmp_path):
    split_dir = _split_dir(tmp_path, [support.question(f"a{i}", "Who?", CONTEXT, ["fox"]) for i in range(3)])
    with tf.io.TFRecordWriter(os.path.join(split_dir, "data_tfrecord-00001-of-00002.gz"), "GZIP") as writer:
        writer.write(beam_pipeline.make_example(support.question("b0", "Who?", CONTEXT, ["dog"])).SerializeToString())
    assert [q.question_id for q in questions_lib.read_questions(split_dir)] == ["a0", "a1", "a2", "b0"]
    assert [q.question_id for q in questions_lib.read_questions(split_dir, limit=2)] == ["a0", "a1"]


@pytest.mark.parametrize("feature", [features.QA_ID, features.QA_QUESTION, features.QA_CONTEXT,
                                     features.QA_ANSWER_TEXTS])
def test_a_missing_feature_names_the_file_the_record_and_the_feature(tmp_path, feature):
    split_dir = _split_dir(tmp_path, [support.question("q0", "Who?", CONTEXT, ["fox"])], drop_feature=feature)
    with pytest.raises(ValueError, match=rf"data_tfrecord-00000-of-00001.gz, record 0.*: feature '{feature}' is "
                                         r"missing \(features: \["):
        questions_lib.read_questions(split_dir)


def test_unreadable_and_empty_splits_are_named(tmp_path):
    split_dir = tmp_path / "Split-eval"
    split_dir.mkdir()
    with pytest.raises(ValueError, match="no record files in the split"):
        questions_lib.read_questions(str(split_dir))
    (split_dir / "data.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="the split holds no questions"):
        questions_lib.read_questions(str(split_dir))
    (split_dir / "data.gz").write_bytes(b"not a gzipped TFRecord")
    with pytest.raises(ValueError, match=r"data.gz, record 0: not a readable gzipped TFRecord"):
        questions_lib.read_questions(str(split_dir))
    with pytest.raises(ValueError, match="no such split directory"):
        questions_lib.read_questions(str(tmp_path / "Split-missing"))
