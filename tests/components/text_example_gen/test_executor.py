"""TextExampleGen's executor run as TFX runs it: input and output configs, the Examples written, the summary."""

from components.text_example_gen import executor as executor_lib
from components.text_example_gen.spec import TextOptions
from tests.components.text_example_gen.support import CRAFTED_A, CRAFTED_B, exec_properties, read_tfrecords


def test_executor_do_writes_the_summary_per_input_split(tmp_path):
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.text_example_gen import read_summary

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
    properties = exec_properties(data, TextOptions(max_field_chars=1000))
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
