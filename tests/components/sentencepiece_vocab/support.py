"""Helpers for the SentencePieceVocab tests: Examples written in a temp dir, the executor run directly."""

import json
import os
import pathlib
from typing import Any, Dict, Iterable, Mapping

import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components import artifacts as artifact_lib
from components.sentencepiece_vocab import executor as executor_lib
from components.sentencepiece_vocab import spec as spec_lib


def _feature(value: Any) -> tf.train.Feature:
    values = value if isinstance(value, list) else [value]
    if values and isinstance(values[0], int):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[v if isinstance(v, bytes) else v.encode("utf-8") for v in values]))


def example(**features: Any) -> bytes:
    """A serialized tf.Example: str/bytes -> bytes_list, int -> int64_list, lists of either."""
    return tf.train.Example(features=tf.train.Features(
        feature={name: _feature(value) for name, value in features.items()})).SerializeToString()


def write_examples(root: pathlib.Path, splits: Mapping[str, Iterable[bytes]]) -> standard_artifacts.Examples:
    """An Examples artifact laid out as ExampleGen writes it: <uri>/Split-<name>/*.gz (gzipped TFRecords)."""
    artifact = standard_artifacts.Examples()
    artifact.uri = str(root)
    for split, records in splits.items():
        os.makedirs(root / f"Split-{split}", exist_ok=True)
        with tf.io.TFRecordWriter(str(root / f"Split-{split}" / "data_tfrecord-00000-of-00001.gz"), "GZIP") as w:
            for record in records:
                w.write(record)
    artifact.split_names = artifact_utils.encode_split_names(list(splits))
    return artifact


def run_executor(examples: standard_artifacts.Examples, out: pathlib.Path, beam_pipeline_args=None,
                 **params: Any) -> Dict[str, Any]:
    """Runs the executor as TFX would (lists as JSON); returns summary.json."""
    output = artifact_lib.SentencePieceModel()
    output.uri = str(out)
    props = {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()}
    context = executor_lib.Executor.Context(beam_pipeline_args=beam_pipeline_args, tmp_dir=str(out) + ".tmp",
                                            unique_id="test")
    executor_lib.Executor(context).Do({spec_lib.EXAMPLES_KEY: [examples]},
                                      {spec_lib.SENTENCEPIECE_MODEL_KEY: [output]}, props)
    return artifact_lib.read_summary(str(out))
