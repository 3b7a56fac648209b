"""Parse the TF Serving config files of this directory into their protos, so a typo fails here, not in the server.

`models.config` parses with tensorflow-serving-api's `model_server_config_pb2.ModelServerConfig`. The
BatchingParameters and MonitoringConfig protos are not in the tensorflow-serving-api wheel (2.16 to 2.19 ship
only apis/ and part of config/), so when they cannot be imported this module builds them from a faithful
copy of their upstream definitions: field names, numbers and types of
tensorflow_serving/servables/tensorflow/session_bundle_config.proto (message BatchingParameters, the fields of
the 2.16 release that albert-tfx may set) and tensorflow_serving/config/monitoring_config.proto, in a private
descriptor pool (so they cannot clash with the real ones should a later wheel ship them).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, text_format, wrappers_pb2

from serving.deploy import BATCHING_CONFIG, MODELS_CONFIG, MONITORING_CONFIG, deploy_file

_PACKAGE = "tensorflow.serving"
_FIELD = descriptor_pb2.FieldDescriptorProto


def _mirrored_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="albert_tfx/tensorflow_serving_config_mirror.proto", package=_PACKAGE, syntax="proto3",
        dependency=[wrappers_pb2.DESCRIPTOR.name])

    def message(name, fields):
        added = proto.message_type.add(name=name)
        for number, (field_name, kind, type_name, label) in enumerate(fields, start=1):
            field = added.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name

    optional, repeated = _FIELD.LABEL_OPTIONAL, _FIELD.LABEL_REPEATED
    int64_value = (_FIELD.TYPE_MESSAGE, ".google.protobuf.Int64Value")
    message("BatchingParameters", [  # numbers 1..7 in order, as upstream
        ("max_batch_size", *int64_value, optional),
        ("batch_timeout_micros", *int64_value, optional),
        ("max_enqueued_batches", *int64_value, optional),
        ("num_batch_threads", *int64_value, optional),
        ("thread_pool_name", _FIELD.TYPE_MESSAGE, ".google.protobuf.StringValue", optional),
        ("allowed_batch_sizes", _FIELD.TYPE_INT64, None, repeated),
        ("pad_variable_length_inputs", _FIELD.TYPE_BOOL, None, optional),
    ])
    message("PrometheusConfig", [
        ("enable", _FIELD.TYPE_BOOL, None, optional),
        ("path", _FIELD.TYPE_STRING, None, optional),
    ])
    message("MonitoringConfig", [
        ("prometheus_config", _FIELD.TYPE_MESSAGE, f".{_PACKAGE}.PrometheusConfig", optional),
    ])
    return proto


def _mirrored_classes():
    from google.protobuf import message_factory

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    pool.Add(_mirrored_file())

    def message_class(name):
        descriptor = pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")
        if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
            return message_factory.GetMessageClass(descriptor)
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)

    return message_class("BatchingParameters"), message_class("MonitoringConfig")


try:  # the real protos, where a tensorflow-serving-api build ships them
    from tensorflow_serving.config.monitoring_config_pb2 import MonitoringConfig
    from tensorflow_serving.servables.tensorflow.session_bundle_config_pb2 import BatchingParameters
except ImportError:
    BatchingParameters, MonitoringConfig = _mirrored_classes()


def parse_text_file(path: str, message: Any) -> Any:
    """Parses the text proto at `path` into `message` (an instance); the error names the file and the line."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as error:
        raise ValueError(f"{path}: {error}") from None


def load_model_server_config(path: str = deploy_file(MODELS_CONFIG)):
    from tensorflow_serving.config import model_server_config_pb2

    return parse_text_file(path, model_server_config_pb2.ModelServerConfig())


def load_batching_parameters(path: str = deploy_file(BATCHING_CONFIG)):
    return parse_text_file(path, BatchingParameters())


def load_monitoring_config(path: str = deploy_file(MONITORING_CONFIG)):
    return parse_text_file(path, MonitoringConfig())
