"""TextExampleGen's spec: TFX's FileBasedExampleGen spec, reused, and the options that travel in its custom_config.

The component keeps TFX's `FileBasedExampleGenSpec` (`tfx.types.standard_component_specs`: `input_base`,
`input_config`, `output_config`, `range_config`, `custom_config`; output `examples`) unchanged; only the
executor differs. This module is what is ours, and imports neither TFX's component machinery nor TensorFlow:

`TextOptions` checks every value when it is built (a bad value raises a ValueError that names the field),
so a wrong option fails at pipeline construction, not inside Beam. `to_dict` / `from_dict` round-trip it
through plain JSON types.

On the wire (and back, from any form TFX hands an executor): components/example_gen_options.py.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple


from components import data_counts
from components.example_gen_options import ExampleGenOptions


QUOTING_CSV = "csv"  # RFC 4180 style: `"` quotes a field, `""` is a literal quote, quoted fields may span lines
QUOTING_NONE = "none"  # split on the delimiter only; `"` is an ordinary character (GLUE TSVs such as MRPC)
QUOTINGS = (QUOTING_CSV, QUOTING_NONE)

STRING = "string"  # bytes_list, UTF-8
INT = "int"  # int64_list
FLOAT = "float"  # float_list
COLUMN_TYPES = (STRING, INT, FLOAT)


@dataclasses.dataclass(frozen=True)
class TextOptions(ExampleGenOptions):
    """How TextExampleGen reads delimited text files.

    delimiter: the one character between fields ("," for CSV, "\\t" for TSV).
    header: True: the first non-blank line of each file names the columns (every file of a split must
        name the same ones). False: there is no header line and `column_names` names the columns.
    column_names: the columns, in file order. With `header=True` they must equal each file's header
        (an error names the file and both lists); with `header=False` they are required.
    quoting: "csv" (standard CSV quoting with `"`, fields may span lines) or "none" (split on the
        delimiter only; quotes are literal text).
    strip_bom: remove U+FEFF (a UTF-8 byte-order mark) at the start of a file and at the start of a field.
    max_field_chars: string fields longer than this are cut to this many characters (and counted).
    column_types: column -> "string" | "int" | "float"; a column not named is a string. A typed value that
        does not parse skips the row (counted); an empty typed field is a feature without values.
    max_skipped_fraction: the run fails (`data_counts.TooManySkippedRowsError`, naming the split's files and the
        counts per reason) when more than this fraction of a split's data records is skipped.
    """

    COMPONENT_NAME = "TextExampleGen"

    delimiter: str = ","
    header: bool = True
    column_names: Optional[Tuple[str, ...]] = None
    quoting: str = QUOTING_CSV
    strip_bom: bool = True
    max_field_chars: int = 1_000_000
    column_types: Optional[Dict[str, str]] = None
    max_skipped_fraction: float = data_counts.DEFAULT_MAX_SKIPPED_FRACTION

    def __post_init__(self):
        _check_str("delimiter", self.delimiter)
        if len(self.delimiter) != 1:
            raise ValueError(f"delimiter must be exactly one character, got {self.delimiter!r}")
        if self.delimiter in ("\n", "\r"):
            raise ValueError(f"delimiter must not be a line break, got {self.delimiter!r}")
        _check_bool("header", self.header)
        _check_str("quoting", self.quoting)
        if self.quoting not in QUOTINGS:
            raise ValueError(f"quoting must be one of {QUOTINGS}, got {self.quoting!r}")
        if self.quoting == QUOTING_CSV and self.delimiter == '"':
            raise ValueError('delimiter must not be \'"\' with quoting="csv" (it is the quote character)')
        _check_bool("strip_bom", self.strip_bom)
        if isinstance(self.max_field_chars, bool) or not isinstance(self.max_field_chars, int):
            raise ValueError(f"max_field_chars must be an integer, got {self.max_field_chars!r}")
        if self.max_field_chars <= 0:
            raise ValueError(f"max_field_chars must be > 0, got {self.max_field_chars!r}")
        data_counts.check_max_skipped_fraction(self.max_skipped_fraction)

        names = self.column_names
        if names is not None:
            if isinstance(names, str) or not isinstance(names, Sequence):
                raise ValueError(f"column_names must be a list of strings, got {names!r}")
            names = tuple(names)
            if not names:
                raise ValueError("column_names must not be empty (use None to take the names from the header)")
            for name in names:
                if not isinstance(name, str) or not name:
                    raise ValueError(f"column_names must be non-empty strings, got {name!r} in {list(names)!r}")
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"column_names has duplicates {duplicates}: {list(names)!r}")
            object.__setattr__(self, "column_names", names)
        elif not self.header:
            raise ValueError("column_names is required when header is False (the files do not name their columns)")

        types = self.column_types
        if types is not None:
            if not isinstance(types, Mapping):
                raise ValueError(f"column_types must be a mapping column -> type, got {types!r}")
            types = dict(types)
            for column, kind in types.items():
                if not isinstance(column, str) or not column:
                    raise ValueError(f"column_types keys must be non-empty column names, got {column!r}")
                if kind not in COLUMN_TYPES:
                    raise ValueError(f"column_types[{column!r}] must be one of {COLUMN_TYPES}, got {kind!r}")
            if names is not None:
                unknown = sorted(set(types) - set(names))
                if unknown:
                    raise ValueError(f"column_types names columns {unknown} that are not in column_names {list(names)!r}")
            object.__setattr__(self, "column_types", types)

    def column_type(self, column: str) -> str:
        """The type of a column: its entry in `column_types`, else "string"."""
        return (self.column_types or {}).get(column, STRING)

    def to_dict(self) -> Dict[str, Any]:
        """The options as JSON-compatible values (lists, not tuples)."""
        return {
            "delimiter": self.delimiter,
            "header": self.header,
            "column_names": list(self.column_names) if self.column_names is not None else None,
            "quoting": self.quoting,
            "strip_bom": self.strip_bom,
            "max_field_chars": self.max_field_chars,
            "column_types": dict(self.column_types) if self.column_types is not None else None,
            "max_skipped_fraction": self.max_skipped_fraction,
        }

    @classmethod
    def _from_struct(cls, values: Dict[str, Any]) -> "TextOptions":
        chars = values.get("max_field_chars")
        if isinstance(chars, float) and chars.is_integer():
            values = {**values, "max_field_chars": int(chars)}
        return cls.from_dict(values)


def _check_str(field: str, value: Any):
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")


def _check_bool(field: str, value: Any):
    if not isinstance(value, bool):
        raise ValueError(f"{field} must be True or False, got {value!r}")


# Read back in any form TFX hands an executor (components/example_gen_options.py).
from_custom_config = TextOptions.from_custom_config
from_exec_properties = TextOptions.from_exec_properties
