"""The anomalies ExampleValidator found, read back from its artifact, as a report that names each problem.

ExampleValidator writes one `anomalies_pb2.Anomalies` per validated split, at
`<anomalies uri>/Split-<name>/SchemaDiff.pb`. `read_anomalies` reads them, `format_report` makes one line of
each anomaly (split, feature or the whole dataset, and the problem), and `check` raises `DataAnomaliesError`
with that report when there is any.
"""

import os
from typing import Dict

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils

ANOMALIES_FILE = validator_executor.DEFAULT_FILE_NAME  # "SchemaDiff.pb", per split


class DataAnomaliesError(RuntimeError):
    """The examples do not fit the schema; the message lists every anomaly."""


def read_anomalies(anomalies_artifact: types.Artifact) -> Dict[str, anomalies_pb2.Anomalies]:
    """{split: Anomalies} from an ExampleAnomalies artifact's `Split-<name>/SchemaDiff.pb` files."""
    found = {}
    for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split), ANOMALIES_FILE)
        if tf.io.gfile.exists(path):
            anomalies = anomalies_pb2.Anomalies()
            with tf.io.gfile.GFile(path, "rb") as handle:
                anomalies.ParseFromString(handle.read())
            found[split] = anomalies
    return found


def format_report(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies]) -> str:
    """One line per anomaly: `split 'eval', feature 'label': Unexpected string values (...)`; '' when none."""
    lines = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            detail = info.description or "; ".join(r.description for r in info.reason)
            lines.append(f"split {split!r}, feature {feature!r}: {info.short_description} ({detail})")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            lines.append(f"split {split!r}, whole dataset: {info.short_description} ({info.description})")
    return "\n".join(lines)


def check(anomalies_artifact: types.Artifact) -> None:
    """Raises DataAnomaliesError with the report when the artifact records any anomaly."""
    report = format_report(read_anomalies(anomalies_artifact))
    if report:
        raise DataAnomaliesError(
            f"the data does not match the schema; fix the data or the schema "
            f"(anomalies written to {anomalies_artifact.uri}):\n{report}")
