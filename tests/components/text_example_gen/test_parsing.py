"""The parser alone (no Beam): line ends, quoting, open quotes, invalid UTF-8, typed values, headers."""

import io

import pytest

from components.text_example_gen import parsing
from components.text_example_gen.spec import TextOptions
from tests.components.text_example_gen.support import tsv_rows
from tests.support import dataset

CSV = TextOptions()
TSV = TextOptions(delimiter="\t", quoting="none")


def records(data: bytes, options=CSV):
    return list(parsing.read_records(io.BytesIO(data), options))


def fields(data: bytes, options=CSV):
    return [(r.line, r.fields, r.reason, r.blank) for r in records(data, options)]


def test_csv_line_ends_quotes_and_blank_lines():
    data = b'\xef\xbb\xbfa,b\r\n"x, y","multi\r\nline"\r\n\r\n   \nlone,cr\rlast,"q""uote"'
    assert fields(data) == [
        (1, ["a", "b"], None, False),
        (2, ["x, y", "multi\r\nline"], None, False),
        (4, None, None, True),
        (5, None, None, True),
        (6, ["lone", "cr"], None, False),
        (7, ["last", 'q"uote'], None, False),
    ]


def test_csv_quote_left_open_skips_one_line_and_keeps_the_rest():
    data = b'a,b\n"x\ny",1\n1,"never closed\n2,x\n\n3,y'
    assert fields(data) == [
        (1, ["a", "b"], None, False),
        (2, ["x\ny", "1"], None, False),
        (4, None, parsing.UNTERMINATED_QUOTE, False),  # the quote on line 4 is closed by no later quote...
        (5, ["2", "x"], None, False),  # ...so the lines it swallowed are parsed again
        (6, None, None, True),
        (7, ["3", "y"], None, False),
    ]
    assert fields(b'1,"open at the end') == [(1, None, parsing.UNTERMINATED_QUOTE, False)]


def test_csv_stray_quote_closed_later_joins_lines():
    # CSV semantics, not detectable: a quote opened by mistake and closed by a later quote makes one field
    # of the lines between. quoting="none" is the remedy for files whose quotes are literal.
    assert fields(b'1,"oops\n2,x\n3,"y\n') == [(1, ["1", "oops\n2,x\n3,y"], None, False)]


def test_none_quoting_keeps_quotes_and_splits_only_on_newline():
    data = b'\xef\xbb\xbfq\t"a\t"b c\r\n"open\tx\n\t\n  \r\n \t \ncr\rinside\ty'
    assert fields(data, TSV) == [
        (1, ["q", '"a', '"b c'], None, False),
        (2, ['"open', "x"], None, False),
        (3, ["", ""], None, False),  # a delimiter alone: two empty fields, a row, not a blank line
        (4, None, None, True),
        (5, [" ", " "], None, False),
        (6, ["cr\rinside", "y"], None, False),
    ]
    assert fields(b"\t\n  \n,\n", CSV) == [(1, None, None, True), (2, None, None, True), (3, ["", ""], None, False)]


def test_bom_kept_when_asked():
    assert fields(b"\xef\xbb\xbfa\tb\n", TextOptions(delimiter="\t", quoting="none", strip_bom=False)) == [
        (1, ["\ufeffa", "b"], None, False)]


def test_invalid_utf8_skips_only_its_record():
    options = TextOptions(column_names=["a", "b"], header=False)
    converter = parsing.RowConverter(["a", "b"], options)
    got = []
    for record in records(b'ok,1\n"bad \xff\nstill the same field",2\nfine,\xc3\n\xc3\xa9,3\n', options):
        got.append(converter.convert(record, {}))
    assert got == [
        (None, [[b"ok"], [b"1"]]),
        (parsing.INVALID_UTF8, None),
        (parsing.INVALID_UTF8, None),
        (None, [["\u00e9".encode()], [b"3"]]),
    ]


def test_typed_columns():
    options = TextOptions(column_names=["i", "f", "s"], header=False, max_field_chars=3,
                          column_types={"i": "int", "f": "float"})
    converter = parsing.RowConverter(["i", "f", "s"], options)

    def convert(line):
        notes = {}
        [record] = records(line.encode(), options)
        return converter.convert(record, notes) + (notes,)

    assert convert(" -7 ,2.5e3,abcdef") == (None, [[-7], [2500.0], [b"abc"]], {parsing.TRUNCATED_FIELDS: 1})
    assert convert(",,") == (None, [[], [], []], {parsing.EMPTY_FIELDS: 3})
    assert convert("+3,.5,\ufeffx") == (None, [[3], [0.5], [b"x"]], {parsing.FIELD_BOMS_STRIPPED: 1})
    assert convert("1,nan,x")[1][1][0] != convert("1,nan,x")[1][1][0]  # NaN is a float
    for bad in ("1.0,1,x", "1_000,1,x", "9223372036854775808,1,x", "\u0663,1,x", "0x1,1,x"):
        assert convert(bad)[0] == parsing.INVALID_INT, bad
    for bad in ("1,1_0,x", "1,1.2.3,x", "1,e5,x", "1,one,x"):
        assert convert(bad)[0] == parsing.INVALID_FLOAT, bad
    assert convert("1,2")[0] == parsing.TOO_FEW_FIELDS
    assert convert("1,2,3,4")[0] == parsing.TOO_MANY_FIELDS


def test_header_errors_name_the_file():
    with pytest.raises(ValueError, match=r"f\.csv.*twice"):
        parsing.read_header(io.BytesIO(b"a,b,a\n"), CSV, "f.csv")
    with pytest.raises(ValueError, match=r"f\.csv.*empty column name"):
        parsing.read_header(io.BytesIO(b"a,,b\n"), CSV, "f.csv")
    with pytest.raises(ValueError, match=r"f\.csv.*UTF-8"):
        parsing.read_header(io.BytesIO(b"a,\xffb\n"), CSV, "f.csv")
    assert parsing.read_header(io.BytesIO(b"\n \n\xef\xbb\xbfa,\xef\xbb\xbfb\n1,2\n"), CSV, "f.csv") == ["a", "b"]
    assert parsing.read_header(io.BytesIO(b"\n\n"), CSV, "f.csv") is None


def test_fields_longer_than_the_csv_module_default_limit():
    long = "x" * 300_000
    assert fields(f'a,"{long}"\n'.encode()) == [(1, ["a", long], None, False)]


def test_mrpc_needs_quoting_none():
    data = (dataset("mrpc") / "dev.tsv").read_bytes()
    expected = tsv_rows(dataset("mrpc") / "dev.tsv")
    plain = [r.fields for r in records(data, TSV) if not r.blank]
    assert plain == expected and len(plain) == 409  # the header and 408 rows, quotes kept literally
    as_csv = [r.fields for r in records(data, TextOptions(delimiter="\t")) if not r.blank]
    assert as_csv != expected  # CSV quoting joins and rewrites rows: why quoting="none" exists
