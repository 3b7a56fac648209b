"""QaExampleGen's executor run as TFX runs it on tiny synthetic files: the Examples written, the by-article split,
the summary and the cap on skipped questions; and the component's defaults."""

import json

import pytest

from components.qa_example_gen import parsing
from components.qa_example_gen import spec as spec_lib
from components.qa_example_gen.spec import QaOptions
from tests.components.text_example_gen.support import read_tfrecords

CONTEXT = "The river Seine flows through Paris."


def article(title, *questions):
    return {"title": title, "paragraphs": [{"context": CONTEXT, "qas": list(questions)}]}


def question(qid, answers=(("Paris", 30),), **extra):
    return {"id": qid, "question": f"Question {qid}?",
            "answers": [{"text": text, "answer_start": start} for text, start in answers], **extra}


def write_squad(path, *articles):
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"version": "v2.0", "data": list(articles)}).encode("utf-8"))


def run_executor(tmp_path, input_base, input_config, output_config, options):
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.qa_example_gen import executor as executor_lib

    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    properties = {
        "input_base": str(input_base),
        "custom_config": json_format.MessageToJson(options.to_custom_config()),
        "input_config": json_format.MessageToJson(input_config),
        "output_config": json_format.MessageToJson(output_config or example_gen_pb2.Output()),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }
    executor_lib.Executor().Do({}, {"examples": [examples]}, properties)
    return examples


def test_one_file_split_by_article_examples_and_summary(tmp_path):
    from components.qa_example_gen import read_summary
    from components.qa_example_gen import summary as summary_lib

    data = tmp_path / "data"
    data.mkdir()
    # 24 articles of 3 questions; article 0 also has a misplaced answer, an unanswerable and a bad question.
    articles = [article(f"Article {i}", *(question(f"a{i}q{j}") for j in range(3))) for i in range(24)]
    articles[0]["paragraphs"][0]["qas"] += [
        question("two_answers", answers=(("Seine", 10), ("Paris", 0))),  # the second answer is misplaced
        question("impossible", answers=(), is_impossible=True),
        question("a1q0"),  # kept: article 1's own "a1q0" comes later and is the duplicate
    ]
    articles.append({"id": "NO_TITLE", "paragraphs": [{"context": CONTEXT, "qas": [question("untitled")]}]})
    write_squad(data / "squad.json", *articles)
    (data / "LICENCE").write_text("not JSON: the default pattern *.json leaves it out", encoding="utf-8")

    options = QaOptions(eval_fraction=0.5)
    examples = run_executor(tmp_path, data, spec_lib.default_input_config(),
                            spec_lib.article_split_output_config(options.eval_fraction), options)

    splits = {name: read_tfrecords(f"{examples.uri}/Split-{name}/*.gz", "GZIP") for name in ("train", "eval")}
    titles = {name: {row["title"][0] for row in rows} for name, rows in splits.items()}
    assert titles["train"] and titles["eval"] and not titles["train"] & titles["eval"]  # no article on both sides
    for name, rows in splits.items():  # ...and each is where the pure rule puts it
        assert all(parsing.article_split(title, 0.5) == name for title in titles[name])
    rows = {row["id"][0]: row for row in splits["train"] + splits["eval"]}
    assert len(rows) == 24 * 3 + 3
    assert rows["two_answers"] == {"id": ["two_answers"], "title": ["Article 0"], "question": ["Question two_answers?"],
                                   "context": [CONTEXT], "answer_texts": ["Seine"], "answer_starts": [10],
                                   "is_impossible": [0]}
    assert (rows["impossible"]["answer_texts"], rows["impossible"]["answer_starts"],
            rows["impossible"]["is_impossible"]) == ([], [], [1])
    assert rows["untitled"]["title"] == ["NO_TITLE"]
    assert rows["a1q0"]["title"] == ["Article 0"]

    summary = read_summary(examples.uri)
    entry = summary["input_splits"]["single_split"]
    assert (entry["pattern"], entry["files"], entry["articles"], entry["questions"], entry["examples"]) == (
        "*.json", 1, 25, 76, 75)
    assert entry["skipped"]["duplicate_id"] == 1 and entry["skipped_total"] == 1
    assert entry["answers_dropped"] == {"bad_answer_start": 1, "empty_answer": 0, "malformed_answer": 0}
    assert (entry["answers"], entry["answers_kept"], entry["untitled_articles"], entry["impossible_questions"]) == (
        75, 74, 1, 1)  # the duplicate's answer is not read
    assert summary["split_rule"] == {"partition_feature_name": "title", "buckets": {"train": 50, "eval": 50}}
    assert summary["splits"] == {name: {"examples": len(split_rows)} for name, split_rows in splits.items()}
    assert examples.get_int_custom_property("qa_example_gen_skipped") == 1
    assert examples.get_int_custom_property("qa_example_gen_answers_dropped") == 1
    train, eval_ = len(splits["train"]), len(splits["eval"])
    assert summary_lib.describe(examples.uri) == (
        f"read 76 questions, kept 75 (eval {eval_}, train {train}), skipped 1 (duplicate_id 1), truncated 0; "
        "answers dropped 1 of 75 (bad_answer_start 1); untitled articles 1, impossible questions 1")


def test_user_splits_and_the_cap_on_skipped_questions(tmp_path):
    from tfx.proto import example_gen_pb2

    from components.data_counts import TooManySkippedRowsError
    from components.qa_example_gen import read_summary

    data = tmp_path / "data"
    data.mkdir()
    write_squad(data / "train.json", article("T", question("t1"), question("t2")))
    write_squad(data / "dev.json", article("D", question("d1"), question("d2", answers=(("Paris", 3),)),
                                           question("d3", answers=())))
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train.json"),
                                                 example_gen_pb2.Input.Split(name="eval", pattern="dev.json")])
    with pytest.raises(TooManySkippedRowsError) as error:  # 2 of 3 eval questions: over the default 10%
        run_executor(tmp_path, data, input_config, None, QaOptions())
    message = str(error.value)
    assert "\n" not in message and "train.json" not in message
    assert message.startswith(f"QaExampleGen: {data / 'dev.json'}: 2 of 3 questions skipped (66.7%: "
                              "no_valid_answer 2): more than max_skipped_fraction 0.1 allows")

    examples = run_executor(tmp_path, data, input_config, None, QaOptions(max_skipped_fraction=0.7))
    assert [row["id"] for row in read_tfrecords(f"{examples.uri}/Split-eval/*.gz", "GZIP")] == [["d1"]]
    assert len(read_tfrecords(f"{examples.uri}/Split-train/*.gz", "GZIP")) == 2
    summary = read_summary(examples.uri)
    assert summary["split_rule"] is None
    assert summary["splits"] == {"train": {"examples": 2}, "eval": {"examples": 1}}
    assert summary["input_splits"]["eval"]["skipped"]["no_valid_answer"] == 2


def test_a_file_that_is_not_json_fails_naming_the_file(tmp_path):
    from tfx.proto import example_gen_pb2

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.json").write_text('{"data": [\n  {"title": "x",}\n]}', encoding="utf-8")
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train.json"),
                                                 example_gen_pb2.Input.Split(name="eval", pattern="train.json")])
    with pytest.raises(parsing.QaFileError, match=rf"{data / 'train.json'}: not valid JSON: .* at line 2 column 17"):
        run_executor(tmp_path, data, input_config, None, QaOptions())


def test_component_defaults_and_refusals(tmp_path):
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2

    from components.qa_example_gen import QaExampleGen

    component = QaExampleGen(input_base=str(tmp_path), options={"eval_fraction": 0.3})
    assert component.id == "QaExampleGen"
    assert spec_lib.from_exec_properties(component.exec_properties) == QaOptions(eval_fraction=0.3)
    input_config = json_format.Parse(component.exec_properties["input_config"], example_gen_pb2.Input())
    output_config = json_format.Parse(component.exec_properties["output_config"], example_gen_pb2.Output())
    assert [(s.name, s.pattern) for s in input_config.splits] == [("single_split", "*.json")]
    assert output_config == spec_lib.article_split_output_config(0.3)

    two = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train.json"),
                                        example_gen_pb2.Input.Split(name="eval", pattern="dev.json")])
    component = QaExampleGen(input_base=str(tmp_path), input_config=two)
    output_config = json_format.Parse(component.exec_properties["output_config"], example_gen_pb2.Output())
    assert not output_config.split_config.splits  # the user's own train and eval

    by_example = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=2),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
    with pytest.raises(ValueError, match="must split by article"):
        QaExampleGen(input_base=str(tmp_path), output_config=by_example)
    with pytest.raises(ValueError, match="eval_fraction"):
        QaExampleGen(input_base=str(tmp_path), options={"eval_fraction": 1.5})
