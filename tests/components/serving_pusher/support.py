"""Fake TFX artifacts for the ServingPusher tests, and the executor run as TFX runs it."""

import os
import shutil

import tensorflow as tf
from tfx.proto import pusher_pb2
from tfx.types import standard_artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import json_utils, proto_utils

from components.serving_pusher import CANARY_KEY
from components.serving_pusher import executor as executor_lib
from serving import layout


def versions(serving_base: str, model_name: str = layout.DEFAULT_MODEL_NAME):
    """The complete versions under `<serving_base>/<model_name>`, oldest first."""
    return [v.version for v in layout.version_dirs(layout.model_dir(serving_base, model_name))]


def model_artifact(uri: str, export_dir: str):
    """A TFX Model artifact holding a copy of `export_dir` where the Trainer puts it (Format-Serving)."""
    artifact = standard_artifacts.Model()
    artifact.uri = str(uri)
    shutil.copytree(export_dir, os.path.join(artifact.uri, "Format-Serving"))
    return artifact


def blessing(tmp_path, blessed: int, kind=standard_artifacts.ModelBlessing):
    artifact = kind()
    artifact.uri = str(tmp_path / f"blessing-{blessed}")
    artifact.set_int_custom_property("blessed", blessed)
    return artifact


def examples_artifact(uri: str, splits):
    """A raw Examples artifact as ExampleGen writes one: gzipped tf.Example TFRecords, `{split: [row dict]}`."""
    artifact = standard_artifacts.Examples()
    artifact.uri = str(uri)
    artifact.split_names = standard_artifact_utils.encode_split_names(list(splits))
    for split, rows in splits.items():
        os.makedirs(os.path.join(artifact.uri, f"Split-{split}"))
        path = os.path.join(artifact.uri, f"Split-{split}", "data_tfrecord-00000-of-00001.gz")
        with tf.io.TFRecordWriter(path, "GZIP") as writer:
            for row in rows:
                writer.write(tf.train.Example(features=tf.train.Features(feature={
                    name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
                    for name, value in row.items()})).SerializeToString())
    return artifact


def run_executor(tmp_path, inputs, serving_base, custom_config=None, versioning=pusher_pb2.Versioning.AUTO,
                 name="push"):
    """Runs the executor as TFX would (JSON exec properties), the canary off unless `custom_config` turns it on
    (it starts a server process); returns the PushedModel artifact."""
    custom_config = {CANARY_KEY: False, **(custom_config or {})}
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pusher" / name)
    destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
        base_directory=serving_base, versioning=versioning))
    exec_properties = {
        standard_component_specs.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination),
        standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom_config),
    }
    executor_lib.Executor().Do(inputs, {standard_component_specs.PUSHED_MODEL_KEY: [pushed]}, exec_properties)
    return pushed
