"""StrictExampleValidator's executor: TFX's ExampleValidator, then a failure that lists the anomalies.

TFX's ExampleValidator only records anomalies (and a `blessed` property nothing downstream reads), so a
bad data drop would still be trained on and, if it scored well enough, pushed. Raising here stops the run
before the vocabulary and the Transform, with a report that names each split, feature and problem. The
anomalies are still written to the artifact's directory for inspection (TFX does not publish the artifact
of a failed execution, so the report is also in the error).
"""

import os
from typing import Any, Dict, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils, standard_component_specs


class DataAnomaliesError(RuntimeError):
    """The examples do not fit the schema; the message lists every anomaly."""


def read_anomalies(anomalies_artifact: types.Artifact) -> Dict[str, anomalies_pb2.Anomalies]:
    """{split: Anomalies} from an ExampleAnomalies artifact's `Split-<name>/SchemaDiff.pb` files."""
    found = {}
    for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split),
                            validator_executor.DEFAULT_FILE_NAME)
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


class Executor(validator_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]):
        result = super().Do(input_dict, output_dict, exec_properties)
        anomalies_artifact = artifact_utils.get_single_instance(output_dict[standard_component_specs.ANOMALIES_KEY])
        report = format_report(read_anomalies(anomalies_artifact))
        if report:
            raise DataAnomaliesError(
                f"the data does not match the schema; fix the data or the schema "
                f"(anomalies written to {anomalies_artifact.uri}):\n{report}")
        return result
