"""TextToExample (the Beam steps the executor applies per split) in a Beam pipeline on files written here."""

import gzip
import shutil

import apache_beam as beam
import pytest

from components.text_example_gen import beam_pipeline, parsing
from components.text_example_gen.spec import TextOptions
from tests.components.text_example_gen.support import (CRAFTED_A, CRAFTED_B, LONG, exec_properties, run_transform,
                                                       tsv_rows)
from tests.support import dataset

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
    source = dataset("chnsenticorp") / "dev.tsv"
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
        _ = beam.Pipeline() | beam_pipeline.TextToExample(exec_properties(data, options), "*.csv")
    message = str(error.value)
    assert str(data / "a.csv") in message
    assert "['sentence', 'label']" in message and "['text', 'label']" in message


def test_files_of_a_split_must_share_a_header(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("text,label\nx,1\n", encoding="utf-8")
    (data / "b.csv").write_text("label,text\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.csv.*\['label', 'text'\].*a\.csv.*\['text', 'label'\]"):
        _ = beam.Pipeline() | beam_pipeline.TextToExample(exec_properties(data, TextOptions()), "*.csv")
    with pytest.raises(RuntimeError, match="does not match any files"):
        _ = beam.Pipeline() | beam_pipeline.TextToExample(exec_properties(data, TextOptions()), "*.tsv")
    with pytest.raises(ValueError, match=r"column_types.*\['score'\]"):
        options = TextOptions(column_types={"score": "float"})
        _ = beam.Pipeline() | beam_pipeline.TextToExample(exec_properties(data, options), "a.csv")
