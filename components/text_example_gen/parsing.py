"""Delimited text -> records -> typed rows, in plain Python (no Beam, no TensorFlow).

TextExampleGen's DoFn streams one file through `read_records` and turns each record into feature values
with `RowConverter`; `read_header` reads a file's header the same way when the pipeline is built.

Lines. A file is read as bytes line by line (split on b"\\n", so a multi-byte UTF-8 character is never
cut) and each line is decoded with `surrogateescape`: invalid UTF-8 bytes become lone surrogates instead
of failing, and the record that holds them is skipped as `invalid_utf8` (per record, so a bad byte inside
a multi-line quoted field skips that one record and nothing else). With quoting="csv", a lone "\\r" also
ends a line (Python's csv module's universal newlines); with quoting="none" only "\\n" does, and one "\\r"
before it is dropped. A U+FEFF at the start of the file is removed before parsing (`strip_bom`).

Records. quoting="none": one line is one record, split on the delimiter. quoting="csv": Python's `csv`
module (quote `"`, `""` inside quotes, lenient about stray quotes inside unquoted fields), so a quoted
field can hold delimiters and line breaks. A quote left open at the end of the file would swallow every
line after it: that record is reported as `unterminated_quote` (its first line is skipped) and the lines
after its first are parsed again, so the rows it had swallowed are kept. (A stray quote that a later
quote closes joins the lines between into one field: that is CSV, and not detectable; files whose quotes
are literal text need quoting="none".) A record the csv module rejects (a NUL character in Python 3.10)
is `malformed_csv`. A record whose text is empty or only whitespace (and holds no delimiter) is a blank
line: skipped and counted, never an error. A line of delimiters alone is a row of empty fields.
"""

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from typing import BinaryIO, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from components.text_example_gen import spec as spec_lib

# Why a record was skipped (Beam counter names in the summary's "skipped").
TOO_FEW_FIELDS = "too_few_fields"
TOO_MANY_FIELDS = "too_many_fields"
INVALID_UTF8 = "invalid_utf8"
INVALID_INT = "invalid_int"
INVALID_FLOAT = "invalid_float"
MALFORMED_CSV = "malformed_csv"
UNTERMINATED_QUOTE = "unterminated_quote"
SKIP_REASONS = (TOO_FEW_FIELDS, TOO_MANY_FIELDS, INVALID_UTF8, INVALID_INT, INVALID_FLOAT, MALFORMED_CSV,
                UNTERMINATED_QUOTE)

# Counted, nothing lost.
BLANK_LINES = "blank_lines"  # empty or whitespace-only lines, skipped
TRUNCATED_FIELDS = "truncated_fields"  # string fields cut to max_field_chars (the row is kept)
EMPTY_FIELDS = "empty_fields"  # empty fields: features without values (the row is kept)
FIELD_BOMS_STRIPPED = "field_boms_stripped"  # fields that started with U+FEFF (removed)
NOTES = (BLANK_LINES, TRUNCATED_FIELDS, EMPTY_FIELDS, FIELD_BOMS_STRIPPED)

# Volume.
FILES = "files"  # files read
RECORDS = "records"  # data records: neither a header nor blank
EXAMPLES = "examples"  # records that became tf.Examples
VOLUME = (FILES, RECORDS, EXAMPLES)

BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")  # what surrogateescape makes of invalid UTF-8 bytes
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# The csv module refuses fields over 128 Ki characters by default; multi-megabyte fields are data here
# (they are cut to max_field_chars after parsing). The limit is process-wide and only ever raised.
_CSV_FIELD_LIMIT = 2**31 - 1


def allow_long_csv_fields():
    """Lift the csv module's field size limit for this process (it is a process-wide setting)."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(min(_CSV_FIELD_LIMIT, sys.maxsize))


@dataclass
class Record:
    """One record of a file: its fields, or why it has none."""

    line: int  # 1-based number of its first line
    fields: Optional[List[str]]  # None when `reason` or `blank`
    raw: str  # the text it was parsed from (for invalid UTF-8 checks and logs)
    reason: Optional[str] = None  # a SKIP_REASONS entry when the record could not be parsed
    blank: bool = False
    detail: str = ""
    lines: List[Tuple[int, str]] = field(default_factory=list, repr=False)  # csv mode: the lines it used


def _text_lines(binary: BinaryIO, csv_mode: bool, strip_bom: bool) -> Iterator[str]:
    first = True
    for chunk in iter(binary.readline, b""):
        text = chunk.decode("utf-8", "surrogateescape")
        if first:
            first = False
            if strip_bom:
                text = text.lstrip(BOM)
        if csv_mode and "\r" in text:
            yield from io.StringIO(text, newline="")  # a lone CR ends a line too; CRLF stays one line end
        else:
            yield text


def _is_blank(text: str, delimiter: str) -> bool:
    return not text.strip() and delimiter not in text


def _none_records(lines: Iterable[str], delimiter: str) -> Iterator[Record]:
    for number, line in enumerate(lines, 1):
        content = line[:-1] if line.endswith("\n") else line
        if content.endswith("\r"):
            content = content[:-1]
        if _is_blank(content, delimiter):
            yield Record(number, None, line, blank=True)
        else:
            yield Record(number, content.split(delimiter), line)


class _Tracker:
    """Feeds numbered lines to csv.reader and remembers which lines each record used."""

    def __init__(self, numbered: Iterator[Tuple[int, str]]):
        self._numbered = numbered
        self.used: List[Tuple[int, str]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        number, line = next(self._numbered)
        self.used.append((number, line))
        return line

    def take(self) -> List[Tuple[int, str]]:
        used, self.used = self.used, []
        return used


def _csv_reader(lines: Iterable[str], delimiter: str):
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)


def _quote_open_at_end(raw: str, delimiter: str) -> bool:
    """Whether a record ended only because the file did, inside a quoted field."""
    text = raw if raw.endswith(("\n", "\r")) else raw + "\n"
    try:  # a closed record leaves the sentinel line as a record of its own; an open quote swallows it
        return len(list(_csv_reader(io.StringIO(text + "x\n", newline=""), delimiter))) < 2
    except csv.Error:
        return False


def _csv_records(numbered: Iterator[Tuple[int, str]], delimiter: str) -> Iterator[Record]:
    while True:
        tracker = _Tracker(numbered)
        reader = _csv_reader(tracker, delimiter)
        held: Optional[Record] = None  # the last record can only be judged once the file has ended
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                used = tracker.take()
                if held is not None:
                    yield held
                    held = None
                yield Record(used[0][0] if used else 0, None, "".join(line for _, line in used),
                             reason=MALFORMED_CSV, detail=str(e))
                continue
            used = tracker.take()
            if held is not None:
                yield held
            raw = "".join(line for _, line in used)
            blank = not fields or _is_blank(raw, delimiter)
            held = Record(used[0][0], None if blank else fields, raw, blank=blank, lines=used)
        if held is None:
            return
        if not held.blank and _quote_open_at_end(held.raw, delimiter):
            yield Record(held.line, None, held.raw, reason=UNTERMINATED_QUOTE,
                         detail=f"a quote opened on line {held.line} is never closed")
            numbered = iter(held.lines[1:])  # parse the swallowed lines again
            continue
        yield held
        return


def read_records(binary: BinaryIO, options: spec_lib.TextOptions) -> Iterator[Record]:
    """The records of a file opened in binary mode, in order (blank and unparseable ones included)."""
    csv_mode = options.quoting == spec_lib.QUOTING_CSV
    lines = _text_lines(binary, csv_mode, options.strip_bom)
    if csv_mode:
        allow_long_csv_fields()
        return _csv_records(enumerate(lines, 1), options.delimiter)
    return _none_records(lines, options.delimiter)


def has_invalid_utf8(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def read_header(binary: BinaryIO, options: spec_lib.TextOptions, path: str) -> Optional[List[str]]:
    """The column names in a file's first non-blank record; None if the file has no such record.

    Raises ValueError naming the file when the header cannot be read or names a column twice or not at all.
    """
    for record in read_records(binary, options):
        if record.blank:
            continue
        if record.reason is not None:
            raise ValueError(f"{path}: the header (line {record.line}) cannot be parsed: {record.reason} "
                             f"{record.detail}".rstrip())
        if has_invalid_utf8(record.raw):
            raise ValueError(f"{path}: the header (line {record.line}) is not valid UTF-8: {record.raw[:200]!r}")
        names = [strip_bom(name) for name in record.fields] if options.strip_bom else list(record.fields)
        if any(not name for name in names):
            raise ValueError(f"{path}: the header (line {record.line}) has an empty column name: {names}")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"{path}: the header (line {record.line}) names {duplicates} twice: {names}")
        return names
    return None


def strip_bom(text: str) -> str:
    return text.lstrip(BOM)


class RowConverter:
    """A record's fields -> one list of values per column (str -> UTF-8 bytes, int, float), or a reason."""

    def __init__(self, columns: Sequence[str], options: spec_lib.TextOptions):
        self.columns = list(columns)
        self.types = [options.column_type(column) for column in self.columns]
        self._max_chars = options.max_field_chars
        self._strip_bom = options.strip_bom

    def convert(self, record: Record, notes: Dict[str, int]) -> Tuple[Optional[str], Optional[List[list]]]:
        """(None, values per column) for a good record, else (reason, None). Adds to `notes` (NOTES counts)."""
        if record.reason is not None:
            return record.reason, None
        if has_invalid_utf8(record.raw):
            return INVALID_UTF8, None
        fields = record.fields
        if len(fields) < len(self.columns):
            return TOO_FEW_FIELDS, None
        if len(fields) > len(self.columns):
            return TOO_MANY_FIELDS, None
        values = []
        counts = {}
        for text, kind in zip(fields, self.types):
            if self._strip_bom and text.startswith(BOM):
                text = text.lstrip(BOM)
                counts[FIELD_BOMS_STRIPPED] = counts.get(FIELD_BOMS_STRIPPED, 0) + 1
            if kind == spec_lib.STRING:
                if not text:
                    counts[EMPTY_FIELDS] = counts.get(EMPTY_FIELDS, 0) + 1
                    values.append([])
                    continue
                if len(text) > self._max_chars:
                    text = text[: self._max_chars]
                    counts[TRUNCATED_FIELDS] = counts.get(TRUNCATED_FIELDS, 0) + 1
                values.append([text.encode("utf-8")])
                continue
            text = text.strip()
            if not text:
                counts[EMPTY_FIELDS] = counts.get(EMPTY_FIELDS, 0) + 1
                values.append([])
            elif kind == spec_lib.INT:
                if not _INT.fullmatch(text) or not _INT64_MIN <= int(text) <= _INT64_MAX:
                    return INVALID_INT, None
                values.append([int(text)])
            else:
                if not _FLOAT.fullmatch(text):
                    return INVALID_FLOAT, None
                values.append([float(text)])
        for name, n in counts.items():
            notes[name] = notes.get(name, 0) + n
        return None, values
