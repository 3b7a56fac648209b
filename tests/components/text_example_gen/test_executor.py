"""TextToExample (the executor's PTransform) in a Beam TestPipeline on files written here."""

import gzip
import shutil

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from components.text_example_gen import executor as executor_lib
from components.text_example_gen import parsing
from components.text_example_gen.options import TextOptions
from tests.components.text_example_gen import DATASETS, exec_properties, run_transform, tsv_rows

LONG = "y" * 3_000_000  # a 3 MB field: more than the csv module's default field limit, cut to 1,000 chars

CRAFTED_A = (
    b"\xef\xbb\xbfid,text,label\n"  # BOM before the header
    b"1,plain text,pos\n"
    b'2,"embedded, comma\nand newline",neg\n'  # a quoted field with the delimiter and a line break
    b"3,,pos\n"  # an empty field
    b"\n"  # a blank line
    b"4,too few\n"
    b"5,too,many,fields\n"
    b"6,bad \xff\xfe utf8,neg\n"
    b'7,"quote ""inside""",pos\n'
    b"8,\xef\xbb\xbfbom field,neg\r\n"  # a BOM at the start of a field, a CRLF line end
    b"   \n"  # whitespace only: blank
    b"9," + LONG.encode() + b",pos\n"
    b'10,"ends, without newline",neg'
)
CRAFTED_B = (  # a second file of the split, same header, a quote that is never closed
    b"id,text,label\n"
    b"11,ok,pos\n"
    b'12,"never closed\n'
    b"13,after the open quote,neg\n"
)
EXPECTED = {
    "1": ["plain text", "pos"],
    "2": ["embedded, comma\nand newline", "neg"],
    "3": [None, "pos"],
    "7": ['quote "inside"', "pos"],
    "8": ["bom field", "neg"],
    "9": [LONG[:1000], "pos"],
    "10": ["ends, without newline", "neg"],
    "11": ["ok", "pos"],
    "13": ["after the open quote", "neg"],
}


def _by_id(rows):
    out = {}
    for row in rows:
        assert set(row) == {"id", "text", "label"}
        [key] = row["id"]
        assert key not in out, f"row {key} twice"
        out[key] = [row["text"][0] if row["text"] else None, row["label"][0]]
    return out


def test_crafted_csv_every_valid_row_once_bad_rows_counted(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(CRAFTED_A)
    (data / "b.csv").write_bytes(CRAFTED_B)
    rows, counters = run_transform(tmp_path, data, "*.csv", TextOptions(max_field_chars=1000))
    assert _by_id(rows) == EXPECTED
    empty = next(row for row in rows if row["id"] == ["3"])
    assert empty["text"] == []  # a feature without values, as CsvExampleGen writes an empty field
    assert counters == {
        parsing.FILES: 2,
        parsing.RECORDS: 13,
        parsing.EXAMPLES: 9,
        parsing.TOO_FEW_FIELDS: 1,
        parsing.TOO_MANY_FIELDS: 1,
        parsing.INVALID_UTF8: 1,
        parsing.UNTERMINATED_QUOTE: 1,
        parsing.BLANK_LINES: 2,
        parsing.EMPTY_FIELDS: 1,
        parsing.FIELD_BOMS_STRIPPED: 1,
        parsing.TRUNCATED_FIELDS: 1,
    }


def test_typed_columns_skip_rows_that_do_not_parse(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    text = "id\tscore\tname\n1\t0.5\ta\nx\t1\tb\n2\tabc\tc\n3\t\td\n"
    (data / "t.tsv.gz").write_bytes(gzip.compress(text.encode("utf-8")))  # gzipped input is read too
    options = TextOptions(delimiter="\t", column_types={"id": "int", "score": "float"})
    rows, counters = run_transform(tmp_path, data, "*.tsv.gz", options)
    assert sorted(rows, key=lambda r: r["id"]) == [
        {"id": [1], "score": [0.5], "name": ["a"]},
        {"id": [3], "score": [], "name": ["d"]},
    ]
    assert counters[parsing.INVALID_INT] == 1 and counters[parsing.INVALID_FLOAT] == 1
    assert counters[parsing.EXAMPLES] == 2 and counters[parsing.EMPTY_FIELDS] == 1


def test_chnsenticorp_without_header(tmp_path):
    source = DATASETS / "chnsenticorp" / "dev.tsv"
    lines = source.read_bytes().split(b"\n")
    # What the file really has: 1,200 non-blank lines, each "text<TAB>positive|negative", nothing malformed.
    non_blank = [line for line in lines if line.strip()]
    assert len(non_blank) == 1200 and lines[-1] == b""
    assert all(len(line.split(b"\t")) == 2 for line in non_blank)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(source, data / "dev.tsv")
    options = TextOptions(delimiter="\t", header=False, column_names=["text", "label"], quoting="none")
    rows, counters = run_transform(tmp_path, data, "dev.tsv", options)
    expected = tsv_rows(source)
    assert len(rows) == 1200
    assert sorted((row["text"][0], row["label"][0]) for row in rows) == sorted(map(tuple, expected))
    assert sum(row["label"] == ["negative"] for row in rows) == 607
    assert sum(row["label"] == ["positive"] for row in rows) == 593
    assert counters == {parsing.FILES: 1, parsing.RECORDS: 1200, parsing.EXAMPLES: 1200}


def test_header_that_differs_from_column_names_is_an_error_naming_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("sentence,label\nx,1\n", encoding="utf-8")
    options = TextOptions(column_names=["text", "label"])
    with pytest.raises(ValueError) as error:
        _ = TestPipeline() | executor_lib.TextToExample(exec_properties(data, options), "*.csv")
    message = str(error.value)
    assert str(data / "a.csv") in message
    assert "['sentence', 'label']" in message and "['text', 'label']" in message


def test_files_of_a_split_must_share_a_header(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("text,label\nx,1\n", encoding="utf-8")
    (data / "b.csv").write_text("label,text\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.csv.*\['label', 'text'\].*a\.csv.*\['text', 'label'\]"):
        _ = TestPipeline() | executor_lib.TextToExample(exec_properties(data, TextOptions()), "*.csv")
    with pytest.raises(RuntimeError, match="does not match any files"):
        _ = TestPipeline() | executor_lib.TextToExample(exec_properties(data, TextOptions()), "*.tsv")
    with pytest.raises(ValueError, match=r"column_types.*\['score'\]"):
        options = TextOptions(column_types={"score": "float"})
        _ = TestPipeline() | executor_lib.TextToExample(exec_properties(data, options), "a.csv")


def test_executor_do_writes_the_summary_per_input_split(tmp_path):
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.text_example_gen import read_summary
    from tests.components.text_example_gen import read_tfrecords

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
