"""ServingPusher's executor: TFX's Pusher with `serving.push.push_export` as the push step.

Everything around the push is TFX's (the base class's methods): the blessing check (a model that the
Evaluator or InfraValidator did not bless is not pushed, and the PushedModel says `pushed=0`), finding the
export in the Model artifact (`<model uri>/Format-Serving`), archiving it in the PushedModel artifact and
the PushedModel's custom properties: `pushed` (1), `pushed_destination` (the version directory) and
`pushed_version` (its number, as a string, as TFX writes it).

The push itself differs from TFX's plain copy: the export is checked against the serving contract and TF
Serving's ops, copied atomically into `<base_directory>/<model_name>/<N>` with integer versions (N = latest +
1), and old versions beyond `keep_versions` are removed. `base_directory` is the serving base (TF Serving
mounts it at /models; serving/deploy/models.config serves `/models/<model_name>`).

The canary (`serving.canary`, on unless `custom_config` turns it off): before the push, the candidate is served
by a separate `albert-tfx serve` process and must answer its warmup requests and the first examples of the
`examples` input's eval split as it does in-process. When it fails, nothing is pushed (the serving directory is
untouched), the PushedModel says `pushed=0` and, in its `canary_failure` property, why; the run goes on, as for
a model the Evaluator did not bless. When it passes, `canary_requests` says how many requests it checked. An
export that is not an albert-tfx export at all is still an error.

Versioning: `AUTO` (the default) gives sequential integers. `UNIX_TIMESTAMP` gives the push time in seconds,
as TFX's Pusher does (still refused unless newer than the latest version). If the latest version already
holds the same model (same SavedModel fingerprint, e.g. a retried run), nothing is copied and the
PushedModel names that version.
"""

import os
import time
from typing import Any, Dict, List, Tuple

from absl import logging
from tfx import types
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.proto import pusher_pb2
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifact_utils, standard_component_specs
from tfx.utils import io_utils, json_utils, proto_utils

from components import artifacts
from components.serving_pusher.spec import (CANARY_FAILURE_PROPERTY, CANARY_REQUESTS_PROPERTY, CANARY_SPLIT,
                                            ServingPushOptions)
from serving import canary as canary_lib
from serving import push as push_lib


def push_options(exec_properties: Dict[str, Any]) -> ServingPushOptions:
    """The options from the execution properties' `custom_config` (JSON, as the Pusher passes it)."""
    raw = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    custom_config = json_utils.loads(raw) if isinstance(raw, str) else raw
    return ServingPushOptions.from_custom_config(custom_config)


def serving_base(exec_properties: Dict[str, Any]) -> Tuple[str, int]:
    """`(base_directory, versioning)` of the filesystem push destination; ValueError for any other kind."""
    destination = pusher_pb2.PushDestination()
    raw = exec_properties.get(standard_component_specs.PUSH_DESTINATION_KEY)
    if not raw:
        raise ValueError("ServingPusher needs push_destination.filesystem.base_directory (the serving base)")
    if isinstance(raw, pusher_pb2.PushDestination):
        destination.CopyFrom(raw)
    else:
        proto_utils.json_to_proto(raw, destination)
    if destination.WhichOneof("destination") != "filesystem" or not destination.filesystem.base_directory:
        raise ValueError(f"ServingPusher pushes to a filesystem base_directory; got push_destination {destination}")
    return destination.filesystem.base_directory, destination.filesystem.versioning


def canary_samples(input_dict: Dict[str, List[types.Artifact]], count: int = canary_lib.DEFAULT_SAMPLE_SIZE
                   ) -> List[bytes]:
    """The first `count` serialized tf.Examples of the `examples` input's eval split (else its first split);
    none without that input."""
    import tensorflow as tf

    examples = input_dict.get(standard_component_specs.EXAMPLES_KEY) or []
    if not examples:
        return []
    artifact = artifact_utils.get_single_instance(examples)
    artifacts.check_tf_example_payload(artifact, "the ServingPusher's canary")
    splits = standard_artifact_utils.decode_split_names(artifact.split_names)
    split = CANARY_SPLIT if CANARY_SPLIT in splits else (splits[0] if splits else None)
    if split is None:
        return []
    split_dir = standard_artifact_utils.get_split_uris(examples, split)[0]
    files = sorted(path for path in fileio.glob(os.path.join(split_dir, "*")) if not fileio.isdir(path))
    if not files:
        return []
    # ExampleGen writes gzipped TFRecords (TFX's default output file format).
    records = tf.data.TFRecordDataset(files, compression_type="GZIP").take(count)
    return [record.numpy() for record in records]


class Executor(tfx_pusher_executor.Executor):
    """TFX's Pusher executor whose push step is `serving.push.push_export` (see the module docstring)."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        # Options and destination first: a misconfigured component fails even when the model is not blessed.
        options = push_options(exec_properties)
        base_directory, versioning = serving_base(exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed_model)
            return
        model_path = self.GetModelPath(input_dict)
        canary_requests = None
        if options.canary:
            push_lib.verify_export(model_path)  # not an export at all: an error, before any server starts
            try:
                report = canary_lib.run_canary(model_path, model_name=options.model_name,
                                               timeout_s=options.canary_timeout_s,
                                               sample_examples=canary_samples(input_dict))
            except canary_lib.CanaryFailure as failure:
                logging.error("canary failed, %s not pushed: %s", model_path, failure.reason)
                self._MarkNotPushed(pushed_model)
                pushed_model.set_string_custom_property(CANARY_FAILURE_PROPERTY, failure.reason)
                return
            logging.info("canary passed: %d requests answered as in-process (max abs difference %.2g) in %.0f s",
                         report.requests, report.max_abs_difference, report.seconds)
            canary_requests = report.requests
        if versioning == pusher_pb2.Versioning.UNIX_TIMESTAMP:
            version = int(time.time())
        elif versioning == pusher_pb2.Versioning.AUTO:
            version = None
        else:
            raise NotImplementedError(f"versioning {pusher_pb2.Versioning.Name(versioning)}")
        result = push_lib.push_export(
            model_path, base_directory, model_name=options.model_name, keep_versions=options.keep_versions,
            version=version, check_ops=options.check_ops, skip_if_unchanged=True)
        # Archive the pushed export in the PushedModel artifact, as TFX's Pusher does.
        io_utils.copy_dir(model_path, pushed_model.uri)
        self._MarkPushed(pushed_model, pushed_destination=result.path, pushed_version=str(result.version))
        if canary_requests is not None:
            pushed_model.set_int_custom_property(CANARY_REQUESTS_PROPERTY, canary_requests)
        logging.info("pushed %s as version %d of %s to %s (removed versions %s)%s", model_path, result.version,
                     result.model_name, result.path, list(result.removed_versions),
                     "" if result.created else "; it was already there")
