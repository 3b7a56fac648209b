"""`albert-tfx serve`: a local stand-in for TF Serving's gRPC API (and its REST API), for development and tests.

Production runs TF Serving; this server answers the same gRPC API with the `tensorflow-serving-api` protos, so
clients (serving/client.py, `albert-tfx predict`, any TF Serving client) cannot tell them apart:

- PredictionService: Predict, Classify, GetModelMetadata (Regress and MultiInference: UNIMPLEMENTED, the
  contract has no regression signature); ModelService: GetModelStatus (HandleReloadConfigRequest: UNIMPLEMENTED).
- Models: `<model base path>/<integer version>/`, the newest version served (or a ModelServerConfig text proto
  with several models, version policies and labels), polled for new versions and hot-swapped without failing
  in-flight requests (serving/model_manager.py). A new version's warmup file is replayed through this
  server's own Predict/Classify code before the version is made available; a version whose warmup fails is
  not served, as in TF Serving.
- Bad requests get TF Serving's status codes and messages, and the server keeps serving: unknown model or
  version NOT_FOUND; unknown version label INVALID_ARGUMENT; unknown signature FAILED_PRECONDITION for Predict,
  INVALID_ARGUMENT for Classify (as TF Serving's predict_util.cc and classifier.cc); missing or extra inputs,
  wrong dtype or shape, empty or oversized batch, oversized text INVALID_ARGUMENT. The size limits are this
  server's own (`max_request_batch`, `max_text_bytes`); TF Serving has only its gRPC message size limit.
- Question-answering exports (metadata task "qa", serving/qa_export.py) have only the `qa` signature, so a
  Predict that names no signature gets `qa` there (`serving_default` for classifiers), and Classify to one is
  INVALID_ARGUMENT naming the `qa` signature.
- Optional server-side batching (serving/batching.py), off by default as in TF Serving.
- Optional REST API (`rest_port`, serving/rest.py): TF Serving's JSON API over the same models and the same
  request checks and prediction code as gRPC, and Prometheus metrics of both (serving/metrics.py).
- Optional bearer token (`auth_token`, `--auth-token-file`): every gRPC call (a server interceptor) and every REST
  /v1/ request must carry `authorization: Bearer <token>`, else UNAUTHENTICATED / HTTP 401. TF Serving itself
  has no authentication; production puts it behind an authenticating proxy (README "Securing a server").
- Binds 127.0.0.1 unless told otherwise, and warns at start when bound elsewhere without TLS; stops gracefully (SIGINT/SIGTERM: no new calls, in-flight calls get
  `grace_s` to finish, then the models are unloaded).

Tensors are converted with TensorFlow's `tf.make_ndarray` / `tf.make_tensor_proto`. TF Serving writes outputs
into the typed repeated fields (`float_val`, ...) by default while `tf.make_tensor_proto` fills `tensor_content`
for numbers; both are valid TensorProtos and `tf.make_ndarray` reads either.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hmac
import ipaddress
import logging
import signal
import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_log_pb2,
                                     prediction_service_pb2_grpc)

from serving import contract, layout
from serving import metrics as metrics_lib
from serving.batching import BatchingConfig, BatchTooLarge, QueueFull, SchedulerClosed, TaskExpired
from serving.client import AUTHORIZATION_KEY, BEARER_PREFIX, SIGNATURE_DEF_FIELD, check_token
from serving.deploy import GRPC_PORT
from serving.model_manager import (InvalidModelSpec, ModelConfig, ModelRegistry, Servable, ServableNotFound,
                                   VersionPolicy)

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"  # loopback: exposing a development server is a decision (--host 0.0.0.0)
MAX_WARMUP_RECORDS = 1000  # TF Serving's WarmupConsts::kMaxNumRecords
_ALLOWED_PREDICT_METHODS = (contract.PREDICT_METHOD_NAME, contract.CLASSIFY_METHOD_NAME, "tensorflow/serving/regress")
# tensorflow.error.Code and grpc.StatusCode share their numbers.
_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}
_TF_UNKNOWN = 2


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """What to serve, where, and the request limits."""

    models: Tuple[ModelConfig, ...]
    host: str = DEFAULT_HOST
    port: int = GRPC_PORT  # 0: any free port (see `LocalModelServer.port`)
    poll_interval_s: float = 2.0  # how often the base paths are checked for new versions; 0: never
    max_workers: int = 16  # concurrent calls
    max_request_batch: int = 256  # rows in one request
    max_text_bytes: int = 100_000  # bytes in one text or serialized tf.Example
    max_message_bytes: int = 64 * 1024 * 1024
    batching: Optional[BatchingConfig] = None
    grace_s: float = 10.0
    warmup: bool = True
    ssl_cert_file: Optional[str] = None  # PEM certificate chain and key: serve TLS instead of plaintext
    ssl_key_file: Optional[str] = None
    rest_port: Optional[int] = None  # TF Serving's REST API on `host` too (None: off; 0: any free port)
    auth_token: Optional[str] = dataclasses.field(default=None, repr=False)  # required bearer token; None: none

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(self.models))
        if not self.models:
            raise ValueError("no model to serve")
        for name in ("port", "rest_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 65536:
                raise ValueError(f"{name} must be in [0, 65535], got {value}")
        if self.rest_port == self.port != 0:
            raise ValueError(f"the gRPC and REST ports must differ, got {self.port} for both")
        for name in ("max_workers", "max_request_batch", "max_text_bytes", "max_message_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.poll_interval_s < 0 or self.grace_s < 0:
            raise ValueError("poll_interval_s and grace_s must be >= 0")
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("TLS needs both a certificate and a key file")
        if self.auth_token is not None:
            check_token(self.auth_token, "auth_token")

    @classmethod
    def for_base_path(cls, base_path: str, model_name: str = layout.DEFAULT_MODEL_NAME, **kwargs) -> "ServerConfig":
        """One model, the newest version under `base_path` (TF Serving's --model_base_path/--model_name)."""
        return cls(models=(ModelConfig(model_name, base_path, VersionPolicy()),), **kwargs)


class RequestError(Exception):
    """A request the server refuses, with the gRPC status code to answer."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def status_of(error: BaseException) -> Tuple[grpc.StatusCode, str]:
    """The gRPC status a failed call answers with."""
    if isinstance(error, RequestError):
        return error.code, error.message
    if isinstance(error, ServableNotFound):
        return grpc.StatusCode.NOT_FOUND, str(error)
    if isinstance(error, (InvalidModelSpec, BatchTooLarge)):
        return grpc.StatusCode.INVALID_ARGUMENT, str(error)
    if isinstance(error, (QueueFull, SchedulerClosed)):
        return grpc.StatusCode.UNAVAILABLE, str(error)
    if isinstance(error, TaskExpired):
        return grpc.StatusCode.DEADLINE_EXCEEDED, str(error)
    if isinstance(error, tf.errors.OpError):  # raised inside the model, e.g. an unparsable tf.Example
        return _GRPC_CODES.get(error.error_code, grpc.StatusCode.INTERNAL), error.message
    return grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"


def authorized(header: Optional[str], token: Optional[str]) -> bool:
    """Whether an `authorization` header value carries `token` (always, when the server requires none)."""
    if token is None:
        return True
    if not header or not header.startswith(BEARER_PREFIX):
        return False
    # Constant time: how much of a guess matches must not show in the answer's timing.
    return hmac.compare_digest(header[len(BEARER_PREFIX):].encode("utf-8"), token.encode("utf-8"))


UNAUTHENTICATED_MESSAGE = f"missing or wrong bearer token: send '{AUTHORIZATION_KEY}: {BEARER_PREFIX}<token>'"


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuses every gRPC call without `authorization: Bearer <token>` with UNAUTHENTICATED."""

    def __init__(self, token: str):
        self._token = token

        def refuse(request, context):
            logger.info("%s: %s", grpc.StatusCode.UNAUTHENTICATED.name, UNAUTHENTICATED_MESSAGE)
            context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)

        # Every method of both services is unary-unary; the request is left undeserialized (bytes).
        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)

    def intercept_service(self, continuation, handler_call_details):
        header = next((value for key, value in handler_call_details.invocation_metadata or ()
                       if key == AUTHORIZATION_KEY), None)
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        return continuation(handler_call_details) if authorized(header, self._token) else self._refusal


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) reaches only this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: loopback when every address it resolves to is
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def _dtype_name(dtype: int) -> str:
    return types_pb2.DataType.Name(dtype) if dtype in types_pb2.DataType.values() else str(dtype)


def _shape_of(info) -> Optional[List[int]]:
    return None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]


def input_array(key: str, proto, info) -> np.ndarray:
    """A request TensorProto as numpy, checked against the SignatureDef's TensorInfo (dtype, rank, fixed dims)."""
    if proto.dtype != info.dtype:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input '{key}': expects {_dtype_name(info.dtype)}, got {_dtype_name(proto.dtype)}")
    try:
        array = tf.make_ndarray(proto)
    except Exception as error:  # inconsistent shape and values, bad tensor_content size
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"input '{key}': not a valid TensorProto: {error}") from None
    expected = _shape_of(info)
    if expected is not None and (len(expected) != array.ndim
                                 or any(e not in (-1, a) for e, a in zip(expected, array.shape))):
        shown = [None if e == -1 else e for e in expected]
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input '{key}': expects shape {shown}, got {list(array.shape)}")
    return array


def serialized_examples(request_input) -> np.ndarray:
    """A `tensorflow.serving.Input` as the serialized tf.Examples the Classify signature takes.

    As TF Serving's InputToSerializedExampleTensor: example_list_with_context prepends the serialized context to
    every serialized example (concatenated protos merge, so each example gets the context's features).
    """
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context.SerializeToString()
        examples = [context + e.SerializeToString() for e in request_input.example_list_with_context.examples]
    else:
        examples = []
    if not examples:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
    return np.array(examples, dtype=object)


def _deadline(context) -> Optional[float]:
    remaining = context.time_remaining() if context is not None else None
    return None if remaining is None else time.monotonic() + remaining


# The API label (serving/metrics.py) of each gRPC method.
_GRPC_APIS = {
    "Predict": metrics_lib.PREDICT, "Classify": metrics_lib.CLASSIFY, "Regress": metrics_lib.REGRESS,
    "MultiInference": metrics_lib.MULTI_INFERENCE, "GetModelMetadata": metrics_lib.METADATA,
    "GetModelStatus": metrics_lib.STATUS, "HandleReloadConfigRequest": metrics_lib.RELOAD_CONFIG,
}


def log_failure(where: str, code: grpc.StatusCode, message: str) -> None:
    """Logs a refused request: a server fault (INTERNAL) with its traceback, a bad request in one line."""
    if code == grpc.StatusCode.INTERNAL:
        logger.exception("%s failed", where)
    else:
        logger.info("%s: %s: %s", where, code.name, message)


def _rpc(method: Callable) -> Callable:
    """Answers any failure of `method` with its gRPC status (and keeps serving); counts and times each call."""
    api = _GRPC_APIS[method.__name__]

    @functools.wraps(method)
    def wrapper(self, request, context):
        started = time.perf_counter()
        model = request.model_spec.name if hasattr(request, "model_spec") else ""
        try:
            response = method(self, request, context)
        except Exception as error:
            code, message = status_of(error)
            self.metrics.observe(model, api, metrics_lib.GRPC, code.name, time.perf_counter() - started)
            log_failure(method.__name__, code, message)
            context.abort(code, message)  # raises: gRPC sends the status
        self.metrics.observe(model, api, metrics_lib.GRPC, grpc.StatusCode.OK.name, time.perf_counter() - started)
        logger.debug("%s ok in %.1f ms", method.__name__, 1000 * (time.perf_counter() - started))
        return response

    return wrapper


class Services(prediction_service_pb2_grpc.PredictionServiceServicer, model_service_pb2_grpc.ModelServiceServicer):
    """Both gRPC services over one `ModelRegistry`; the work of each API is a plain method the REST API calls too."""

    def __init__(self, registry: ModelRegistry, config: ServerConfig, metrics: metrics_lib.ServingMetrics):
        self.registry = registry
        self._config = config
        self.metrics = metrics

    def counts(self) -> Dict[Tuple[str, str], int]:
        """(gRPC method, status code name) -> calls answered."""
        methods = {api: method for method, api in _GRPC_APIS.items()}
        return {(methods[api], status): n for (entrypoint, api, status), n in self.metrics.counts().items()
                if entrypoint == metrics_lib.GRPC}

    # --- request checks -------------------------------------------------------------------------------

    def check_batch(self, inputs: Dict[str, np.ndarray]) -> int:
        """The batch size of `inputs`; refuses scalars, mismatched, empty or oversized batches, oversized texts."""
        sizes = {key: (value.shape[0] if value.ndim else None) for key, value in inputs.items()}
        if None in sizes.values():
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"inputs need a batch dimension: {sizes}")
        if len(set(sizes.values())) > 1:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"inputs must have the same batch size: {sizes}")
        size = next(iter(sizes.values()))
        if size == 0:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"empty batch: no rows in {sorted(inputs)}")
        if size > self._config.max_request_batch:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"Task size {size} is larger than maximum input batch size "
                               f"{self._config.max_request_batch} (the server's max_request_batch)")
        for key, value in inputs.items():
            if value.dtype == object:
                for row, text in enumerate(value.reshape(-1)):
                    if len(text) > self._config.max_text_bytes:
                        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                           f"input '{key}' element {row}: {len(text)} bytes, more than the server's "
                                           f"limit of {self._config.max_text_bytes} (max_text_bytes)")
        return size

    # --- the work of each API, for a given servable (also used to replay warmup records) -------------

    def predict(self, servable: Servable, request: predict_pb2.PredictRequest, deadline: Optional[float] = None
                ) -> predict_pb2.PredictResponse:
        name = request.model_spec.signature_name or servable.default_signature
        signature = servable.signature_defs.get(name)
        if signature is None or not servable.runnable(name):
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{name}" not found.')
        if signature.method_name not in _ALLOWED_PREDICT_METHODS:
            raise RequestError(grpc.StatusCode.INTERNAL, f"Expected prediction signature method_name to be one of "
                                                         f"{_ALLOWED_PREDICT_METHODS}. Was: {signature.method_name}")
        sent, wanted = set(request.inputs), set(signature.inputs)
        if len(sent) != len(wanted):  # TF Serving's predict_util.cc and saved_model/util.cc messages
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"input size does not match signature: {len(sent)}!={len(wanted)} len({{{','.join(sorted(sent))}}}) "
                f"!= len({{{','.join(sorted(wanted))}}}). Sent extra: {{{','.join(sorted(sent - wanted))}}}. "
                f"Missing but required: {{{','.join(sorted(wanted - sent))}}}."))
        for key in sorted(sent - wanted):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"input tensor alias not found in signature: {key}. Inputs expected to be in the set "
                f"{{{','.join(sorted(wanted))}}}."))
        inputs = {key: input_array(key, request.inputs[key], signature.inputs[key]) for key in sorted(sent)}
        self.check_batch(inputs)
        output_keys = list(request.output_filter) or list(signature.outputs)
        for key in request.output_filter:
            if key not in signature.outputs:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                    f"output tensor alias not found in signature: {key} Outputs expected to be in the set "
                    f"{{{','.join(sorted(signature.outputs))}}}."))
        if len(set(output_keys)) != len(output_keys):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"duplicate output tensor alias in {output_keys}")
        outputs = servable.run(name, inputs, deadline)
        response = predict_pb2.PredictResponse()
        self._fill_model_spec(response.model_spec, servable, name)
        for key in output_keys:
            response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
        return response

    def classify(self, servable: Servable, request: classification_pb2.ClassificationRequest,
                 deadline: Optional[float] = None) -> classification_pb2.ClassificationResponse:
        # TF Serving's Classify defaults to serving_default too; ours is a Predict signature, so a client must
        # name the contract's classify signature (as serving/client.py does).
        name = request.model_spec.signature_name or contract.PREDICT_SIGNATURE
        if servable.task == contract.TASK_QA:  # its one signature is a Predict one: say so, not "no signature"
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"model {servable.name!r} version {servable.version} is a question-answering export: the Classify "
                f"API needs a classifier; send Predict to signature {contract.QA_SIGNATURE!r} with inputs "
                f"{list(contract.QA_INPUTS)} instead (received Classify, signature_name {name!r})"))
        signature = servable.signature_defs.get(name)
        if signature is None:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"No signature was found with the name: {name}")
        if signature.method_name != contract.CLASSIFY_METHOD_NAME:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"Expected classification signature method_name to be {contract.CLASSIFY_METHOD_NAME}. "
                f"Was: {signature.method_name}"))
        if contract.CLASSIFY_INPUT not in signature.inputs or len(signature.inputs) != 1:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"signature {name!r} needs exactly one input, '{contract.CLASSIFY_INPUT}'")
        examples = serialized_examples(request.input)
        size = self.check_batch({contract.CLASSIFY_INPUT: examples})
        outputs = servable.run(name, {contract.CLASSIFY_INPUT: examples}, deadline)
        classes, scores = outputs.get(contract.CLASSES_OUTPUT), outputs.get(contract.SCORES_OUTPUT)
        if classes is None and scores is None:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"signature {name!r} has neither '{contract.CLASSES_OUTPUT}' nor "
                               f"'{contract.SCORES_OUTPUT}' outputs")
        for key, value in ((contract.CLASSES_OUTPUT, classes), (contract.SCORES_OUTPUT, scores)):
            if value is not None and (value.ndim != 2 or value.shape[0] != size):
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"Expected Tensor shape: [batch_size num_classes] but got {key} {list(value.shape)}")
        response = classification_pb2.ClassificationResponse()
        self._fill_model_spec(response.model_spec, servable, name)
        num_classes = (classes if classes is not None else scores).shape[1]
        for i in range(size):
            classifications = response.result.classifications.add()
            for j in range(num_classes):
                item = classifications.classes.add()
                if classes is not None:
                    item.label = classes[i, j].decode("utf-8") if isinstance(classes[i, j], bytes) else str(classes[i, j])
                if scores is not None:
                    item.score = float(scores[i, j])
        return response

    def model_metadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest
                       ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        if not request.HasField("model_spec"):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        if not request.metadata_field:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               "GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != SIGNATURE_DEF_FIELD:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"Metadata field {field} is not supported")
        with self.registry.acquire(request.model_spec) as servable:
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            self._fill_model_spec(response.model_spec, servable)
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, signature in servable.signature_defs.items():
                signature_map.signature_def[key].CopyFrom(signature)
            response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
            return response

    def model_status(self, request: get_model_status_pb2.GetModelStatusRequest
                     ) -> get_model_status_pb2.GetModelStatusResponse:
        if not request.HasField("model_spec"):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        spec = request.model_spec
        manager = self.registry.manager(spec.name, for_status=True)
        # As TF Serving: a version number narrows the answer; a version label is ignored.
        version = spec.version.value if spec.WhichOneof("version_choice") == "version" else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for state in manager.states(version):
            entry = response.model_version_status.add()
            entry.version = state.version
            entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(state.state)
            entry.status.SetInParent()  # OK, and present, as TF Serving answers (its REST JSON shows it)
            if state.error:
                entry.status.error_code = _TF_UNKNOWN
                entry.status.error_message = state.error
        return response

    @staticmethod
    def regress(request) -> None:
        raise RequestError(grpc.StatusCode.UNIMPLEMENTED, "Regress: the albert-tfx contract has no regression signature")

    @staticmethod
    def _fill_model_spec(spec, servable: Servable, signature: Optional[str] = None) -> None:
        spec.name = servable.name
        spec.version.value = servable.version
        if signature is not None:
            spec.signature_name = signature

    # --- PredictionService ----------------------------------------------------------------------------

    @_rpc
    def Predict(self, request, context):
        with self.registry.acquire(request.model_spec) as servable:
            return self.predict(servable, request, _deadline(context))

    @_rpc
    def Classify(self, request, context):
        with self.registry.acquire(request.model_spec) as servable:
            return self.classify(servable, request, _deadline(context))

    @_rpc
    def GetModelMetadata(self, request, context):
        return self.model_metadata(request)

    @_rpc
    def Regress(self, request, context):
        return self.regress(request)

    @_rpc
    def MultiInference(self, request, context):
        raise RequestError(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not implemented by albert-tfx serve")

    # --- ModelService ---------------------------------------------------------------------------------

    @_rpc
    def GetModelStatus(self, request, context):
        return self.model_status(request)

    @_rpc
    def HandleReloadConfigRequest(self, request, context):
        raise RequestError(grpc.StatusCode.UNIMPLEMENTED,
                           "albert-tfx serve does not reload its model config over gRPC; restart it instead")

    # --- warmup ---------------------------------------------------------------------------------------

    def warm_up(self, servable: Servable) -> None:
        """Replays the version's warmup file (or, without one, one default-signature call) before it serves.

        Any failure fails the load, as in TF Serving, so a version that cannot answer never replaces one that can.
        """
        path = contract.warmup_path(servable.path)
        started = time.perf_counter()
        if tf.io.gfile.exists(path):
            records = 0
            for record in tf.data.TFRecordDataset(path):
                records += 1
                if records > MAX_WARMUP_RECORDS:
                    raise ValueError(f"{path}: more than {MAX_WARMUP_RECORDS} warmup records")
                log = prediction_log_pb2.PredictionLog()
                log.ParseFromString(record.numpy())
                kind = log.WhichOneof("log_type")
                if kind == "predict_log":
                    self.predict(servable, log.predict_log.request)
                elif kind == "classify_log":
                    self.classify(servable, log.classify_log.request)
                else:
                    raise ValueError(f"{path}: record {records} is a {kind or 'empty'} warmup record; "
                                     f"this server replays predict_log and classify_log")
            logger.info("%s: version %d replayed %d warmup requests in %.1f s", servable.name, servable.version,
                        records, time.perf_counter() - started)
            return
        # The default signature (a QA export's `qa`: an empty question and context, which answer "no span").
        signature = servable.signature_defs.get(servable.default_signature)
        if signature is not None and all(i.dtype == types_pb2.DT_STRING for i in signature.inputs.values()):
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = servable.default_signature
            for key in signature.inputs:
                request.inputs[key].CopyFrom(tf.make_tensor_proto([b""], dtype=tf.string, shape=[1]))
            self.predict(servable, request)
            logger.info("%s: version %d has no warmup file; warmed up with one call", servable.name, servable.version)


class LocalModelServer:
    """The gRPC server (and the REST API, when `rest_port` is set), its models and their polling. `start()`, then
    `stop()` (or use `with`)."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.registry = ModelRegistry(config.models, config.batching, on_load=self._on_load)
        self.metrics = metrics_lib.ServingMetrics(m.name for m in config.models)
        self._services = Services(self.registry, config, self.metrics)
        self._server: Optional[grpc.Server] = None
        self._rest = None  # serving.rest.RestServer once started
        self.port: Optional[int] = None
        self.rest_port: Optional[int] = None
        self._stopped = threading.Event()

    def _on_load(self, servable: Servable) -> None:
        if self.config.warmup:
            self._services.warm_up(servable)

    @property
    def address(self) -> str:
        return f"{_host_in_address(self.config.host)}:{self.port}"

    @property
    def rest_address(self) -> Optional[str]:
        """`host:port` of the REST API, or None when it is off."""
        return None if self.rest_port is None else f"{_host_in_address(self.config.host)}:{self.rest_port}"

    def request_counts(self) -> Dict[Tuple[str, str], int]:
        """(gRPC method, status code name) -> gRPC calls answered so far (`metrics` has the REST ones too)."""
        return self._services.counts()

    def start(self) -> "LocalModelServer":
        """Loads what is on disk now, then listens; new versions are polled for in the background.

        As TF Serving, the port opens only once the first versions are loaded (until then a client is refused
        and retries: a bound but unstarted gRPC port would instead leave it hanging until its deadline). A busy
        port is detected before loading, so it fails at once rather than after minutes of loading.
        """
        address = f"{_host_in_address(self.config.host)}:{self.config.port}"
        _check_port_free(self.config.host, self.config.port)
        if self.config.rest_port is not None:
            _check_port_free(self.config.host, self.config.rest_port)
        for name, versions in self.registry.poll().items():
            if versions:
                logger.info("serving model %r versions %s", name, versions)
            else:
                logger.warning("model %r: no loadable version under %s yet; waiting for one", name,
                               self.registry.managers[name].config.base_path)
        limit = self.config.max_message_bytes
        self._server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(self.config.max_workers, thread_name_prefix="albert-tfx-serve"),
            options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit),
                     # Without this, a second server can bind a port that is in use and never get a call.
                     ("grpc.so_reuseport", 0)],
            interceptors=[BearerTokenInterceptor(self.config.auth_token)] if self.config.auth_token else None)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(self._services, self._server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(self._services, self._server)
        try:
            if self.config.ssl_cert_file:
                with open(self.config.ssl_key_file, "rb") as key, open(self.config.ssl_cert_file, "rb") as cert:
                    credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
                self.port = self._server.add_secure_port(address, credentials)
            else:
                self.port = self._server.add_insecure_port(address)
        except RuntimeError as error:  # grpcio raises on bind failure
            self.port = 0
            bind_error = str(error)
        else:
            bind_error = "in use, or not an address of this machine"
        if not self.port:
            self.registry.close()
            raise OSError(f"cannot listen on {address}: {bind_error}")
        self._server.start()
        if self.config.rest_port is not None:
            from serving.rest import RestServer  # here: serving.rest imports this module

            try:
                self._rest = RestServer(self._services, self.config)
                self.rest_port = self._rest.start()
            except OSError as error:
                self._server.stop(0).wait()
                self.registry.close()
                raise OSError(f"cannot listen on {_host_in_address(self.config.host)}:{self.config.rest_port}: "
                              f"{error.strerror or error}") from None
        self.registry.start_polling(self.config.poll_interval_s)
        rest = f"; REST API on {self.rest_address}" if self._rest is not None else ""
        auth = "bearer token required" if self.config.auth_token else "no authentication"
        logger.info("listening on %s (%s, %s)%s", self.address, "TLS" if self.config.ssl_cert_file else "plaintext",
                    auth, rest)
        if not self.config.ssl_cert_file and not is_loopback(self.config.host):
            logger.warning("bound to %s, which is not loopback, without TLS: other machines can call this development "
                           "server and requests, answers%s travel in clear text (README: Securing a server)",
                           self.config.host, " and the bearer token" if self.config.auth_token else "")
        return self

    def stop(self, grace_s: Optional[float] = None) -> None:
        """Refuses new calls, gives in-flight calls `grace_s` to finish, then unloads every model."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.config.grace_s if grace_s is None else grace_s
        # Both refuse new calls at once and then share the grace period.
        stopped = self._server.stop(grace) if self._server is not None else None
        if self._rest is not None:
            self._rest.stop(grace)
        if stopped is not None:
            stopped.wait()
        self.registry.close()
        logger.info("stopped; calls answered: %s",
                    {" ".join(key): n for key, n in sorted(self.metrics.counts().items())})

    def __enter__(self) -> "LocalModelServer":
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def _host_in_address(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _check_port_free(host: str, port: int) -> None:
    """OSError when `host:port` cannot be bound now (port 0 always can)."""
    if port == 0:
        return
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC: a TIME_WAIT port is free
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve_until_signalled(config: ServerConfig, on_ready: Optional[Callable[[LocalModelServer], None]] = None,
                          signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> LocalModelServer:
    """Runs a server until SIGINT or SIGTERM, then stops it gracefully (call from the main thread).

    The handlers are installed before the models load, so a signal during a long load stops the server as
    soon as it is up instead of killing it half-way.
    """
    stop = threading.Event()

    def handle(signum, frame):
        logger.info("received %s: stopping (grace %.0f s)", signal.Signals(signum).name, config.grace_s)
        stop.set()

    previous = {s: signal.signal(s, handle) for s in signals}
    server = None
    try:
        server = LocalModelServer(config).start()
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if server is not None:
            server.stop()
    return server
