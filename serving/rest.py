"""TF Serving's REST API for `albert-tfx serve --rest-port`, and the Prometheus metrics page.

The JSON API of TF Serving's http_rest_api_handler.cc and json_tensor.cc, over the models, request checks and
prediction code of the gRPC server (serving/server.py): each JSON request becomes the gRPC request proto and
goes through the same `Services` method, so both APIs refuse the same requests with the same messages; only
JSON that cannot become a request is refused here.

- `GET /v1/models/{name}[/versions/{v}|/labels/{l}]`: model status, GetModelStatusResponse as JSON.
- `GET .../metadata`: `{"model_spec": ..., "metadata": {"signature_def": <SignatureDefMap as JSON>}}`.
- `POST .../{name}[/versions/{v}|/labels/{l}]:predict`: `{"signature_name"?, "instances": [...]}` (row format,
  answered as `{"predictions": [...]}`) or `{"signature_name"?, "inputs": ...}` (columnar, answered as
  `{"outputs": ...}`); strings as JSON strings or `{"b64": ...}`; outputs whose name ends in `_bytes` as b64.
- `POST ...:classify`: `{"signature_name"?, "context"?, "examples": [{feature: value or list}]}` ->
  `{"results": [[[label, score], ...], ...]}`. `:regress` is answered 501 (the contract has no regression).
- `GET /monitoring/prometheus/metrics` (serving/metrics.py; TF Serving's default path).
- With a bearer token (`ServerConfig.auth_token`), every other path needs `Authorization: Bearer <token>`, else
  401 `{"error": ...}` with `WWW-Authenticate: Bearer`; the metrics page stays open, as TF Serving's, for
  scrapers (it shows model names and request counts, no request data).

Errors are `{"error": "<message>"}` with TF Serving's HTTP code for the status (`HTTP_STATUS`): 400 for a bad
request or an unknown version label, 404 for an unknown model or version, 501 for an API this server lacks,
503 while shutting down. As in TF Serving, a request under /v1/ that matches no route is 400 "Malformed
request: METHOD PATH"; any other path is 404. Requests that name no model are not counted in the metrics.

HTTP server: aiohttp (pinned in constraints.txt), a maintained asyncio HTTP/1.1 server with a C request parser,
keep-alive, a request size limit and graceful shutdown. Its event loop runs on one thread and hands each
request to a thread pool, since model calls block. (Werkzeug's server is documented as unfit for load; tornado
would serve as well, aiohttp's API is the smaller one for one catch-all route.)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import dataclasses
import json
import logging
import re
import ssl
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional, Tuple

import grpc
import numpy as np
import tensorflow as tf
from aiohttp import web
from google.protobuf import json_format
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_pb2,
                                     predict_pb2)

from serving import metrics as metrics_lib
from serving.client import SIGNATURE_DEF_FIELD
from serving.deploy import PROMETHEUS_METRICS_PATH
from serving.server import (UNAUTHENTICATED_MESSAGE, RequestError, ServerConfig, Services, authorized, log_failure,
                            status_of)

logger = logging.getLogger(__name__)

# TF Serving's routes (http_rest_api_util.cc), matched against the undecoded path; names and labels are
# percent-decoded after matching, as there.
_PREDICTION_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)", re.I | re.A)
_MODEL_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?", re.I | re.A)
_V1_PATH = re.compile(r"/v1/.*", re.I | re.S)
_MAX_INT64 = 2 ** 63 - 1

# TF Serving's ToHTTPStatusCode (http_server.cc).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNAUTHENTICATED: 401,
}
_JSON = "application/json"
_BYTES_SUFFIX = "_bytes"  # TF Serving writes string outputs with this name suffix as {"b64": ...}


def _bad(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


# --- routes -------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    """What a request path asks for: the API (serving/metrics.py names) and the model spec."""

    api: str
    model_name: str
    version: Optional[int] = None
    label: Optional[str] = None

    def model_spec(self, signature_name: str = "") -> model_pb2.ModelSpec:
        spec = model_pb2.ModelSpec(name=self.model_name, signature_name=signature_name)
        if self.version is not None:
            spec.version.value = self.version
        elif self.label is not None:
            spec.version_label = self.label
        return spec


def parse_route(method: str, path: str) -> Route:
    """The route of `method path` (path undecoded), or a RequestError with TF Serving's message."""
    match = None
    if method == "POST":
        match = _PREDICTION_PATH.fullmatch(path)
    elif method == "GET":
        match = _MODEL_PATH.fullmatch(path)
    if match is None:
        raise _bad(f"Malformed request: {method} {path}")
    name, version, label, last = match.groups()
    if method == "POST":
        api = last.lower()
    else:
        api = metrics_lib.METADATA if last else metrics_lib.STATUS
    if version is not None and int(version) > _MAX_INT64:
        raise _bad(f"Failed to convert version: {version} to numeric.")
    name = urllib.parse.unquote(name or "")
    if not name:
        raise _bad("Missing model name in request.")
    return Route(api, name, None if version is None else int(version),
                 None if label is None else urllib.parse.unquote(label))


# --- JSON to tensors and examples (json_tensor.cc) ----------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _b64decode(value: Dict[str, str]) -> bytes:
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"JSON Value: {_dumps(value)} Unable to base64 decode") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_FLOAT_TYPES = (types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE, types_pb2.DT_HALF, types_pb2.DT_BFLOAT16)
_INT_TYPES = (types_pb2.DT_INT8, types_pb2.DT_INT16, types_pb2.DT_INT32, types_pb2.DT_INT64, types_pb2.DT_UINT8,
              types_pb2.DT_UINT16, types_pb2.DT_UINT32, types_pb2.DT_UINT64)


def _scalar(value: Any, dtype: int) -> Any:
    """One JSON leaf as a value of `dtype`."""
    if dtype == types_pb2.DT_STRING:
        if isinstance(value, str):
            return value.encode("utf-8")
        if _is_b64(value):
            return _b64decode(value)
        if isinstance(value, dict):
            raise _bad(f"JSON Value: {_dumps(value)} not formatted correctly for base64 data")
        ok = False
    elif dtype in _FLOAT_TYPES:
        ok = _is_number(value)
    elif dtype in _INT_TYPES:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif dtype == types_pb2.DT_BOOL:
        ok = isinstance(value, bool)
    else:
        raise RequestError(grpc.StatusCode.UNIMPLEMENTED,
                           f"Conversion of JSON Value: {_dumps(value)} to type: {tf.as_dtype(dtype).name}")
    if not ok:
        raise _bad(f"JSON Value: {_dumps(value)} Type: {_json_type(value)} is not of expected type: "
                   f"{tf.as_dtype(dtype).name}")
    return value


def json_tensor(value: Any, dtype: int) -> tensor_pb2.TensorProto:
    """A JSON value (a scalar or nested lists, dense) as a TensorProto of `dtype`; its shape is the nesting's."""
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    leaves = []

    def add(item: Any, level: int) -> None:
        if not isinstance(item, list):
            if level != len(shape):
                raise _bad(f"JSON Value: {_dumps(item)} found at incorrect level: {level + 1} in the JSON DOM. "
                           f"Expected at level: {len(shape)}")
            leaves.append(_scalar(item, dtype))
            return
        if level >= len(shape):
            raise _bad(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
        if len(item) != shape[level]:
            raise _bad(f"Encountered list at unexpected size: {len(item)} at level: {level} "
                       f"expected size: {shape[level]}")
        for element in item:
            add(element, level + 1)

    add(value, 0)
    tf_dtype = tf.as_dtype(dtype)
    try:
        array = np.array(leaves, dtype=object if dtype == types_pb2.DT_STRING else tf_dtype.as_numpy_dtype)
    except (OverflowError, ValueError) as error:
        raise _bad(f"JSON Value: {_dumps(value)} does not fit {tf_dtype.name}: {error}") from None
    return tf.make_tensor_proto(array.reshape(shape), dtype=tf_dtype, shape=shape)


def _parse_json(body: bytes) -> Dict[str, Any]:
    if not body:
        raise _bad("JSON Parse error: The document is empty")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise _bad(f"JSON Parse error: {error}") from None
    if not isinstance(document, dict):
        raise _bad(f"JSON Value: {_dumps(document)} Is not object")
    signature = document.get("signature_name", "")
    if not isinstance(signature, str):
        raise _bad(f"JSON Value: {_dumps(document)} not formatted correctly. 'signature_name' key must be a "
                   f"string value.")
    return document


def _named(value: Any) -> bool:
    """A JSON object of named tensors (a b64 object is a value)."""
    return isinstance(value, dict) and not _is_b64(value)


def predict_request(document: Dict[str, Any], route: Route, signature_def) -> Tuple[predict_pb2.PredictRequest, str]:
    """The PredictRequest a predict body stands for, and its format ("row" or "columnar").

    Inputs the signature lacks become empty tensors, so the gRPC checks name them (as missing or extra).
    """
    inputs = signature_def.inputs
    if ("instances" in document) == ("inputs" in document):
        if "instances" in document:
            raise _bad(f"JSON Value: {_dumps(document)} Not formatted correctly expecting only one of 'inputs' or "
                       f"'instances' keys to exist")
        raise _bad("Missing 'inputs' or 'instances' key")
    if "instances" in document:
        form, instances = "row", document["instances"]
        if not isinstance(instances, list):
            raise _bad(f"JSON Value: {_dumps(document)} Expecting 'instances' to be an list/array")
        if not instances:
            raise _bad(f"JSON Value: {_dumps(document)} No values in 'instances' array")
        if _named(instances[0]):
            keys = set(instances[0])
            for i, row in enumerate(instances):
                if not _named(row):
                    raise _bad(f"Expecting object but got list at item {i} of input list")
                if set(row) != keys:
                    raise _bad(f"Failed to process element: {i} of 'instances' list. JSON object: {_dumps(row)} "
                               f"keys must be equal to: {','.join(sorted(keys))}")
            columns = {key: [row[key] for row in instances] for key in sorted(keys)}
        else:
            if len(inputs) > 1:
                raise _bad("instances is a plain list, but expecting list of objects as multiple input tensors "
                           "required as per tensorinfo_map")
            for i, row in enumerate(instances):
                if _named(row):
                    raise _bad(f"Expecting value/list but got object at item {i} of input list")
            columns = {next(iter(inputs)): instances}
    else:
        form, value = "columnar", document["inputs"]
        if _named(value):
            columns = value
        else:
            if len(inputs) > 1:
                raise _bad("inputs is a plain value/list, but expecting an object as multiple input tensors "
                           "required as per tensorinfo_map")
            columns = {next(iter(inputs)): value}
    request = predict_pb2.PredictRequest(model_spec=route.model_spec(document.get("signature_name", "")))
    for key, value in columns.items():
        if key in inputs:
            try:
                request.inputs[key].CopyFrom(json_tensor(value, inputs[key].dtype))
            except RequestError as error:
                raise RequestError(error.code, f"input '{key}': {error.message}") from None
        else:
            request.inputs[key].CopyFrom(tensor_pb2.TensorProto())
    return request, form


def _example(value: Any) -> example_pb2.Example:
    """A JSON object of features (a value or a list of values each) as a tf.Example."""
    if not isinstance(value, dict):
        raise _bad(f"Example must be JSON object but got JSON {_json_type(value)}")
    example = example_pb2.Example()
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, bool):
                kind, item = "int64_list", int(item)
            elif isinstance(item, int):
                if not -2 ** 63 <= item <= _MAX_INT64:
                    raise _bad(f"Feature: {name} has element {item} out of the int64 range. Only int64 is supported.")
                kind = "int64_list"
            elif isinstance(item, float):
                if np.isfinite(item) and abs(item) > np.finfo(np.float32).max:
                    raise _bad(f"Cannot convert JSON value: {_dumps(item)} to float without loss of precision.")
                kind = "float_list"
            elif isinstance(item, str):
                kind, item = "bytes_list", item.encode("utf-8")
            elif _is_b64(item):
                kind, item = "bytes_list", _b64decode(item)
            else:
                raise _bad(f"Feature: {name} has element with unexpected JSON type: {_json_type(item)}")
            current = feature.WhichOneof("kind")
            if current not in (None, kind):
                raise _bad(f"Unexpected element type in feature: {name} expecting type: {current.split('_')[0]}")
            getattr(feature, kind).value.append(item)
    return example


def classification_request(document: Dict[str, Any], route: Route) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest(model_spec=route.model_spec(document.get("signature_name", "")))
    if "examples" not in document:
        raise _bad(f"JSON Value: {_dumps(document)} When method is classify, key 'examples' is expected and was not "
                   f"found")
    examples = document["examples"]
    if not isinstance(examples, list):
        raise _bad(f"JSON Value: {_dumps(document)} Expecting 'examples' value to be an list/array")
    if "context" in document:
        with_context = request.input.example_list_with_context
        with_context.context.CopyFrom(_example(document["context"]))
        target = with_context.examples
    else:
        target = request.input.example_list.examples
    for example in examples:
        target.add().CopyFrom(_example(example))
    return request


# --- tensors and responses to JSON --------------------------------------------------------------------------


def tensor_json(array: np.ndarray, as_base64: bool = False) -> Any:
    """A numpy output as JSON values: strings as UTF-8 text (or {"b64": ...}), floats at their own precision."""
    if array.dtype == object or array.dtype.kind == "S":
        if as_base64:
            convert = lambda b: {"b64": base64.b64encode(b).decode("ascii")}  # noqa: E731
        else:  # TF Serving writes the raw bytes; invalid UTF-8 would make invalid JSON, so it is replaced
            convert = lambda b: b.decode("utf-8", "replace")  # noqa: E731
        return np.vectorize(convert, otypes=[object])(array).tolist()
    if array.dtype.kind == "f":
        # The shortest decimal that reads back as the same float32 ("0.2", not float64's 0.20000000298023224).
        return array.astype(str).astype(np.float64).tolist()
    return array.tolist()


def predict_json(response: predict_pb2.PredictResponse, form: str) -> Dict[str, Any]:
    outputs = {key: tf.make_ndarray(proto) for key, proto in sorted(response.outputs.items())}
    values = {key: tensor_json(array, key.endswith(_BYTES_SUFFIX)) for key, array in outputs.items()}
    if form == "columnar":
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    batch = None
    for key, array in outputs.items():
        if array.ndim == 0:
            raise _bad(f"Tensor name: {key} has no shape information ")
        if batch is not None and array.shape[0] != batch:
            raise _bad(f"Tensor name: {key} has inconsistent batch size: {array.shape[0]} expecting: {batch}")
        batch = array.shape[0]
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    return {"predictions": [{key: values[key][i] for key in values} for i in range(batch)]}


def classify_json(response: classification_pb2.ClassificationResponse) -> Dict[str, Any]:
    results = []
    for classifications in response.result.classifications:
        scores = tensor_json(np.array([c.score for c in classifications.classes], dtype=np.float32))
        results.append([[c.label, score] for c, score in zip(classifications.classes, scores)])
    return {"results": results}


_PROTO_JSON = dict(including_default_value_fields=True, preserving_proto_field_name=True)


def metadata_json(response: get_model_metadata_pb2.GetModelMetadataResponse) -> Dict[str, Any]:
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata[SIGNATURE_DEF_FIELD].Unpack(signature_map)
    return {"model_spec": json_format.MessageToDict(response.model_spec, **_PROTO_JSON),
            "metadata": {SIGNATURE_DEF_FIELD: json_format.MessageToDict(signature_map, **_PROTO_JSON)}}


# --- the server ---------------------------------------------------------------------------------------------


class RestServer:
    """The REST API and the metrics page on `config.host:config.rest_port`, over a gRPC server's `Services`."""

    def __init__(self, services: Services, config: ServerConfig):
        self._services = services
        self._config = config
        self._executor = concurrent.futures.ThreadPoolExecutor(config.max_workers, thread_name_prefix="albert-tfx-rest")
        self._loop = asyncio.new_event_loop()
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self._in_flight = 0
        self._stopping = False

    def start(self) -> int:
        """Listens; returns the bound port. OSError when the port cannot be bound."""
        self._thread = threading.Thread(target=self._loop.run_forever, name="albert-tfx-rest-loop", daemon=True)
        self._thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result()
        except BaseException:
            self._close_loop()
            raise

    def stop(self, grace_s: float) -> None:
        """Refuses new requests, gives in-flight ones `grace_s` to finish, then closes every connection."""
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(grace_s), self._loop).result()
        self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._executor.shutdown(wait=True)
        self._thread = None

    async def _listen(self) -> int:
        middlewares = [self._check_token] if self._config.auth_token else []
        app = web.Application(client_max_size=self._config.max_message_bytes, middlewares=middlewares)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # The drain is ours (`_shutdown`): by the time aiohttp's cleanup runs, only idle connections are left.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        context = None
        if self._config.ssl_cert_file:  # the gRPC port's certificate, for HTTPS
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self._config.ssl_cert_file, self._config.ssl_key_file)
        site = web.TCPSite(self._runner, self._config.host, self._config.rest_port, ssl_context=context)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        return self._runner.addresses[0][1]

    async def _shutdown(self, grace_s: float) -> None:
        self._stopping = True
        for site in list(self._runner.sites):
            await site.stop()  # no new connections
        give_up = self._loop.time() + grace_s
        while self._in_flight and self._loop.time() < give_up:
            await asyncio.sleep(0.02)
        await self._runner.cleanup()

    @web.middleware
    async def _check_token(self, request: web.Request, handler) -> web.StreamResponse:
        """401 for a request without the server's bearer token (the metrics page excepted)."""
        if request.rel_url.raw_path == PROMETHEUS_METRICS_PATH \
                or authorized(request.headers.get("Authorization"), self._config.auth_token):
            return await handler(request)
        logger.info("REST %s %s: %s", request.method, request.rel_url.raw_path, UNAUTHENTICATED_MESSAGE)
        return _json_response(HTTP_STATUS[grpc.StatusCode.UNAUTHENTICATED], {"error": UNAUTHENTICATED_MESSAGE},
                              headers={"WWW-Authenticate": "Bearer"})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        path = request.rel_url.raw_path
        if path == PROMETHEUS_METRICS_PATH:
            if request.method != "GET":
                return _json_response(405, {"error": f"Method Not Allowed: {request.method} {path}; use GET"},
                                      headers={"Allow": "GET"})
            return web.Response(body=self._services.metrics.exposition(),
                                headers={"Content-Type": metrics_lib.CONTENT_TYPE})
        if not _V1_PATH.fullmatch(path):
            return _json_response(404, {"error": f"Not found: {request.method} {path}"})
        if self._stopping:  # a request on a kept-alive connection while draining
            return _json_response(HTTP_STATUS[grpc.StatusCode.UNAVAILABLE], {"error": "the server is shutting down"})
        self._in_flight += 1
        try:
            try:
                body = await request.read()
            except web.HTTPException as error:  # e.g. 413: larger than max_message_bytes
                return _json_response(error.status, {"error": f"{error.reason}: {error.text}"})
            status, answer = await self._loop.run_in_executor(
                self._executor, self._answer, request.method, path, body, started)
            return web.Response(body=answer, status=status, content_type=_JSON)
        finally:
            self._in_flight -= 1

    def _answer(self, method: str, path: str, body: bytes, started: float) -> Tuple[int, bytes]:
        """(HTTP status, JSON body) for one /v1/ request; counts and times it once its route names a model."""
        route = None
        try:
            route = parse_route(method, path)
            answer = self._dispatch(route, body)
            code = grpc.StatusCode.OK
        except Exception as error:
            code, message = status_of(error)
            log_failure(f"REST {method} {path}", code, message)
            answer = {"error": message}
        encoded = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        if route is not None:
            self._services.metrics.observe(route.model_name, route.api, metrics_lib.REST, code.name,
                                           time.perf_counter() - started)
        return HTTP_STATUS.get(code, 500), encoded

    def _dispatch(self, route: Route, body: bytes) -> Dict[str, Any]:
        services = self._services
        if route.api == metrics_lib.STATUS:
            response = services.model_status(get_model_status_pb2.GetModelStatusRequest(model_spec=route.model_spec()))
            return json_format.MessageToDict(response, including_default_value_fields=True)
        if route.api == metrics_lib.METADATA:
            return metadata_json(services.model_metadata(get_model_metadata_pb2.GetModelMetadataRequest(
                model_spec=route.model_spec(), metadata_field=[SIGNATURE_DEF_FIELD])))
        if route.api == metrics_lib.REGRESS:
            services.regress(None)
        document = _parse_json(body)
        if route.api == metrics_lib.CLASSIFY:
            request = classification_request(document, route)
            with services.registry.acquire(request.model_spec) as servable:
                return classify_json(services.classify(servable, request))
        spec = route.model_spec(document.get("signature_name", ""))
        with services.registry.acquire(spec) as servable:
            name = spec.signature_name or servable.default_signature
            signature_def = servable.signature_defs.get(name)
            if signature_def is None:  # TF Serving's REST message (its gRPC one is the server's)
                raise _bad(f'Serving signature name: "{name}" not found in signature def')
            request, form = predict_request(document, route, signature_def)
            return predict_json(services.predict(servable, request), form)


def _json_response(status: int, answer: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> web.Response:
    return web.Response(text=json.dumps(answer, ensure_ascii=False), status=status, content_type=_JSON, headers=headers)
