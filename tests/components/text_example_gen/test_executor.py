"""TextExampleGen's executor run as TFX runs it: input and output configs, the Examples written, the summary."""

from components.text_example_gen import executor as executor_lib
from components.text_example_gen.spec import TextOptions
from tests.components.text_example_gen.support import CRAFTED_A, CRAFTED_B, exec_properties, read_tfrecords


def test_executor_do_writes_the_summary_per_input_split(tmp_path):
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.text_example_gen import read_summary
    from components.text_example_gen import summary as summary_lib

    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "eval").mkdir()
    (data / "train" / "a.csv").write_bytes(CRAFTED_A)
    (data / "train" / "b.csv").write_bytes(CRAFTED_B)
    (data / "eval" / "c.csv").write_text("id,text,label\n20,e,pos\n21,f\n", encoding="utf-8")
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="train", pattern="train/*"),
        example_gen_pb2.Input.Split(name="eval", pattern="eval/*"),
    ])
    # Half the eval rows are bad: a cap of 0.5 lets this run through (the default of 0.1 would not: below).
    properties = exec_properties(data, TextOptions(max_field_chars=1000, max_skipped_fraction=0.5))
    properties.update({
        "input_config": json_format.MessageToJson(input_config),
        "output_config": json_format.MessageToJson(example_gen_pb2.Output()),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    })
    executor_lib.Executor().Do({}, {"examples": [examples]}, properties)

    assert len(read_tfrecords(f"{examples.uri}/Split-train/*.gz", "GZIP")) == 9
    assert read_tfrecords(f"{examples.uri}/Split-eval/*.gz", "GZIP") == [{"id": ["20"], "text": ["e"], "label": ["pos"]}]
    summary = read_summary(examples.uri)
    train, eval_ = summary["input_splits"]["train"], summary["input_splits"]["eval"]
    assert (train["pattern"], train["files"], train["records"], train["examples"]) == ("train/*", 2, 13, 9)
    assert train["skipped"] == {"too_few_fields": 1, "too_many_fields": 1, "invalid_utf8": 1, "invalid_int": 0,
                                "invalid_float": 0, "malformed_csv": 0, "unterminated_quote": 1}
    assert (train["blank_lines"], train["truncated_fields"], train["empty_fields"]) == (2, 1, 1)
    assert (eval_["files"], eval_["records"], eval_["examples"], eval_["skipped_total"]) == (1, 2, 1, 1)
    assert summary["splits"] == {"train": {"examples": 9}, "eval": {"examples": 1}}
    assert summary["examples"] == 10 and summary["skipped_total"] == 5
    assert examples.get_int_custom_property("text_example_gen_skipped") == 5
    # The line the run's progress and summary show: each count, each reason, the truncation.
    assert summary_lib.counts_line(summary) == (
        "read 15 rows, kept 10 (eval 1, train 9), skipped 5 (too_few_fields 2, too_many_fields 1, invalid_utf8 1, "
        "unterminated_quote 1), truncated 1 (fields cut to 1,000 characters); empty fields 1, blank lines 2")
    assert summary_lib.describe(examples.uri) == summary_lib.counts_line(summary)


def test_too_many_skipped_rows_fail_with_the_files_and_counts_per_reason(tmp_path):
    import pytest
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.data_counts import TooManySkippedRowsError
    from components.text_example_gen import read_summary

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_bytes(CRAFTED_A)  # 10 records, 3 skipped: 30% > the default cap of 10%
    (data / "eval.csv").write_text("id,text,label\n20,e,pos\n21,f,neg\n", encoding="utf-8")
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train.csv"),
                                                 example_gen_pb2.Input.Split(name="eval", pattern="eval.csv")])
    properties = exec_properties(data, TextOptions())
    properties.update({"input_config": json_format.MessageToJson(input_config),
                       "output_config": json_format.MessageToJson(example_gen_pb2.Output()),
                       "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
                       "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP})
    with pytest.raises(TooManySkippedRowsError) as error:
        executor_lib.Executor().Do({}, {"examples": [examples]}, properties)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"TextExampleGen: {data / 'train.csv'}: 3 of 10 rows skipped (30.0%: too_few_fields 1, "
                              "too_many_fields 1, invalid_utf8 1): more than max_skipped_fraction 0.1 allows")
    assert "eval.csv" not in message  # the clean split is not named
    assert read_summary(examples.uri)["skipped_total"] == 3  # the counts stay on disk for inspection
