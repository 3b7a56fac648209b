"""Helpers for the TextExampleGen tests: run the PTransform in a Beam pipeline, read tf.Examples back."""

import glob
import pathlib
from typing import Any, Dict, List, Optional, Tuple

import apache_beam as beam
import tensorflow as tf
from apache_beam.metrics.metric import MetricsFilter

from components.text_example_gen import beam_pipeline
from components.text_example_gen.spec import TextOptions

Row = Dict[str, List[Any]]


def exec_properties(input_base, options: TextOptions) -> Dict[str, Any]:
    """What the executor gets from TFX: the options as the JSON of their CustomConfig."""
    from google.protobuf import json_format

    return {"input_base": str(input_base), "custom_config": json_format.MessageToJson(options.to_custom_config())}


def example_to_row(example: tf.train.Example) -> Row:
    """Feature name -> its values (bytes decoded as UTF-8); an empty feature -> []."""
    row = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        row[name] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    return row


def read_tfrecords(pattern: str, compression: Optional[str] = None) -> List[Row]:
    rows = []
    for path in sorted(glob.glob(pattern)):
        for record in tf.data.TFRecordDataset(path, compression_type=compression or ""):
            rows.append(example_to_row(tf.train.Example.FromString(record.numpy())))
    return rows


def run_transform(tmp_path: pathlib.Path, input_base, pattern: str, options: TextOptions) -> Tuple[List[Row], Dict[str, int]]:
    """Runs TextToExample on `input_base/pattern` on the DirectRunner; (rows, TextExampleGen counters)."""
    out = tmp_path / "out"
    pipeline = beam.Pipeline()
    _ = (
        pipeline
        | "Read" >> beam_pipeline.TextToExample(exec_properties(input_base, options), pattern)
        | "Serialize" >> beam.Map(lambda example: example.SerializeToString())
        | "Write" >> beam.io.WriteToTFRecord(str(out / "examples"), file_name_suffix=".tfrecord")
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace(beam_pipeline.METRICS_NAMESPACE))["counters"]:
        counters[counter.key.metric.name] = counters.get(counter.key.metric.name, 0) + counter.committed
    return read_tfrecords(str(out / "examples*.tfrecord")), counters


def tsv_rows(path: pathlib.Path) -> List[List[str]]:
    """The non-empty lines of a TSV file split on tabs (no quoting), the UTF-8 BOM removed."""
    return [line.split("\t") for line in path.read_text(encoding="utf-8-sig").split("\n") if line.strip()]


# Two files of one split, with every kind of bad row (test_beam_pipeline.py lists what each must give).
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
