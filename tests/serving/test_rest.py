"""TF Serving's REST API on `albert-tfx serve --rest-port` (a separate process), asked with a real HTTP client
(urllib): model status and metadata in TF Serving's JSON, predict in the row and columnar formats and classify
equal to the in-process SavedModel, the Prometheus metrics counting REST and gRPC requests, the gRPC tests'
bad-request table repeated over REST, and the REST API's own bad requests (JSON that is no request).
"""

import base64
import json
import signal
import socket
import urllib.error
import urllib.parse
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from prometheus_client.parser import text_string_to_metric_families
from tensorflow.core.example import example_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

from albert_tfx.cli import main
from serving import contract
from serving.client import ClientConfig, ServingClient
from serving.deploy import PROMETHEUS_METRICS_PATH
from tests.serving.support import tiny_task
from tests.serving.support.bad_requests import BAD_REQUESTS, MAX_REQUEST_BATCH, MAX_TEXT_BYTES
from tests.serving.support.exports import MODEL, in_process, push, tiny_exports
from tests.serving.support.serve_process import ready_addresses, running_serve

TEXTS = ["a charming and often affecting journey", "", "The plot was grim, dull and tedious.", "ünïcode 文字 " * 30]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(REST base URL, gRPC address, exports, process): version 1 served by one `albert-tfx serve` process."""
    exports = tiny_exports()
    base = str(tmp_path_factory.mktemp("serving") / MODEL)
    push(exports.dirs[1], base, 1)
    args = ["--model-base-path", base, "--port", "0", "--rest-port", "0", "--poll-seconds", "0",
            "--max-request-batch", str(MAX_REQUEST_BATCH), "--max-text-bytes", str(MAX_TEXT_BYTES)]
    with running_serve(args, tmp_path_factory.mktemp("logs") / "serve.log") as (process, line, _):
        grpc_address, rest_address = ready_addresses(line)
        assert rest_address.startswith("127.0.0.1:")  # loopback unless told otherwise, as the gRPC port
        yield f"http://{rest_address}", grpc_address, exports, process


def _call(url: str, method: str, path: str, body=None):
    """(HTTP status, Content-Type, body: parsed JSON or text) of one request."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    content_type = headers.get("Content-Type", "")
    return status, content_type, json.loads(raw) if content_type.startswith("application/json") else raw.decode()


def _ok(url: str, method: str, path: str, body=None):
    status, _, answer = _call(url, method, path, body)
    assert status == 200, answer
    return answer


# --- status, metadata, predict, classify ---------------------------------------------------------------------


def test_status_and_metadata_are_tf_serving_json(served):
    url, _, exports, _ = served
    status = {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert _ok(url, "GET", f"/v1/models/{MODEL}") == status
    assert _ok(url, "GET", f"/v1/models/{MODEL}/versions/1") == status
    for path in (f"/v1/models/{MODEL}/metadata", f"/v1/models/{MODEL}/versions/1/metadata"):
        answer = _ok(url, "GET", path)
        assert answer["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
        signature_map = json_format.ParseDict(answer["metadata"]["signature_def"],
                                              get_model_metadata_pb2.SignatureDefMap())
        assert dict(signature_map.signature_def) == contract.list_signature_defs(exports.dirs[1])


def test_predict_in_row_and_columnar_format_equals_the_in_process_model(served):
    url, _, exports, _ = served
    expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=TEXTS)
    rows = _ok(url, "POST", f"/v1/models/{MODEL}:predict", {"instances": TEXTS})["predictions"]
    named_rows = _ok(url, "POST", f"/v1/models/{MODEL}/versions/1:predict",
                     {"signature_name": contract.PREDICT_SIGNATURE, "instances": [{"text": t} for t in TEXTS]})
    assert named_rows["predictions"] == rows
    assert [sorted(row) for row in rows] == [sorted(contract.PREDICT_OUTPUTS)] * len(TEXTS)
    np.testing.assert_allclose([row["probabilities"] for row in rows], expected[contract.PROBABILITIES_OUTPUT],
                               atol=1e-6)
    assert [row["label_id"] for row in rows] == expected[contract.LABEL_ID_OUTPUT].tolist()
    assert [row["label"] for row in rows] == [label.decode() for label in expected[contract.LABEL_OUTPUT]]

    columns = _ok(url, "POST", f"/v1/models/{MODEL}:predict", {"inputs": {"text": TEXTS}})["outputs"]
    assert columns == {key: [row[key] for row in rows] for key in contract.PREDICT_OUTPUTS}
    # Serialized tf.Examples as {"b64": ...}, a plain list for the one input of serving_examples.
    examples = [{"b64": base64.b64encode(tiny_task.example(**{exports.text_feature: t})).decode()} for t in TEXTS]
    from_examples = _ok(url, "POST", f"/v1/models/{MODEL}:predict",
                        {"signature_name": contract.EXAMPLES_SIGNATURE, "inputs": examples})["outputs"]
    np.testing.assert_allclose(from_examples[contract.PROBABILITIES_OUTPUT], expected[contract.PROBABILITIES_OUTPUT],
                               atol=1e-6)


def test_classify_answers_label_and_score_pairs_and_merges_the_context(served):
    url, _, exports, _ = served
    feature = exports.text_feature
    expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.PROBABILITIES_OUTPUT]
    results = _ok(url, "POST", f"/v1/models/{MODEL}:classify", {
        "signature_name": contract.CLASSIFY_SIGNATURE, "examples": [{feature: t} for t in TEXTS]})["results"]
    assert [[label for label, _ in row] for row in results] == [list(exports.label_names)] * len(TEXTS)
    np.testing.assert_allclose([[score for _, score in row] for row in results], expected, atol=1e-6)
    with_context = _ok(url, "POST", f"/v1/models/{MODEL}/versions/1:classify", {
        "signature_name": contract.CLASSIFY_SIGNATURE, "context": {feature: TEXTS[0]},
        "examples": [{}, {feature: [TEXTS[2]]}]})["results"]  # the first has only the context's text
    np.testing.assert_allclose([[score for _, score in row] for row in with_context], expected[[0, 2]], atol=1e-6)


def test_a_busy_rest_port_or_the_grpc_port_is_refused_before_loading(tmp_path, capsys):
    empty = tmp_path / MODEL
    empty.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--model-base-path", str(empty), "--port", "0", "--rest-port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", "--model-base-path", str(empty), "--port", "8500", "--rest-port", "8500"]) == 2
    assert "the gRPC and REST ports must differ, got 8500 for both" in capsys.readouterr().err


# --- metrics -------------------------------------------------------------------------------------------------


def _samples(url: str):
    status, content_type, text = _call(url, "GET", PROMETHEUS_METRICS_PATH)
    assert status == 200 and content_type.startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _count(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_per_model_api_entrypoint_and_status(served):
    url, grpc_address, _, _ = served
    before = _samples(url)
    _ok(url, "POST", f"/v1/models/{MODEL}:predict", {"instances": ["a good film"]})
    _ok(url, "POST", f"/v1/models/{MODEL}:predict", {"instances": ["a bad film"]})
    assert _call(url, "POST", "/v1/models/nope:predict", {"instances": ["x"]})[0] == 404
    _ok(url, "GET", f"/v1/models/{MODEL}")
    with ServingClient(ClientConfig(grpc_address, model_name=MODEL, deadline_s=60)) as client:
        client.predict(["a good film"])
    after = _samples(url)
    counts = "albert_tfx_serving_request_count_total"
    expected = [({"model_name": MODEL, "api": "predict", "entrypoint": "REST", "status": "OK"}, 2),
                ({"model_name": "(unknown)", "api": "predict", "entrypoint": "REST", "status": "NOT_FOUND"}, 1),
                ({"model_name": MODEL, "api": "status", "entrypoint": "REST", "status": "OK"}, 1),
                ({"model_name": MODEL, "api": "predict", "entrypoint": "GRPC", "status": "OK"}, 1)]
    for labels, delta in expected:
        assert _count(after, counts, **labels) - _count(before, counts, **labels) == delta, labels
    latency = "albert_tfx_serving_request_latency_seconds"
    rest_ok = expected[0][0]
    assert _count(after, f"{latency}_count", **rest_ok) - _count(before, f"{latency}_count", **rest_ok) == 2
    assert (_count(after, f"{latency}_bucket", **rest_ok, le="+Inf")
            - _count(before, f"{latency}_bucket", **rest_ok, le="+Inf")) == 2
    assert _count(after, f"{latency}_sum", **rest_ok) > _count(before, f"{latency}_sum", **rest_ok)


# --- the gRPC bad-request table over REST --------------------------------------------------------------------

# TF Serving's HTTP code for each status code of the table (http_server.cc).
HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 400,
               grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.UNIMPLEMENTED: 501}
# Rows a REST request cannot express.
NOT_OVER_REST = {
    "unknown output filter": "the REST API has no output filter",
    "metadata: no model spec": "a REST path always names the model",
    "metadata: no field": "REST metadata always asks for the signature_def field",
    "metadata: unknown field": "REST metadata always asks for the signature_def field",
}
# Rows whose JSON is refused before the gRPC checks, with TF Serving's REST message.
REST_MESSAGES = {
    "no model name": "Malformed request: POST /v1/models/:predict",
    "unknown signature": 'Serving signature name: "nope" not found in signature def',
    "wrong dtype": "input 'text': JSON Value: 1.0 Type: Number is not of expected type: string",
}
OVER_REST = [row for row in BAD_REQUESTS if row[0] not in NOT_OVER_REST]


def _path(spec, verb: str = "") -> str:
    path = f"/v1/models/{urllib.parse.quote(spec.name, safe='')}"
    choice = spec.WhichOneof("version_choice")
    if choice == "version":
        path += f"/versions/{spec.version.value}"
    elif choice == "version_label":
        path += f"/labels/{urllib.parse.quote(spec.version_label, safe='')}"
    return path + verb


def _json_values(proto):
    array = tf.make_ndarray(proto)
    return np.vectorize(bytes.decode, otypes=[object])(array).tolist() if array.dtype == object else array.tolist()


def _json_example(serialized: bytes):
    example = example_pb2.Example.FromString(serialized)
    return {name: [v.decode() for v in feature.bytes_list.value] for name, feature in example.features.feature.items()}


def _over_rest(method: str, request):
    """The REST call (HTTP method, path, body) asking what the gRPC `request` asks."""
    signature = {"signature_name": request.model_spec.signature_name} if request.model_spec.signature_name else {}
    if method == "Predict":
        assert not request.output_filter
        inputs = {key: _json_values(value) for key, value in request.inputs.items()}
        return "POST", _path(request.model_spec, ":predict"), {**signature, "inputs": inputs}
    if method == "Classify":
        examples = [_json_example(e.SerializeToString()) for e in request.input.example_list.examples]
        return "POST", _path(request.model_spec, ":classify"), {**signature, "examples": examples}
    if method == "Regress":
        return "POST", _path(request.model_spec, ":regress"), {"examples": [{}]}
    if method == "GetModelStatus":
        return "GET", _path(request.model_spec), None
    raise AssertionError(f"no REST call for {method}")


@pytest.mark.parametrize("case,service,method,request_,code,message", OVER_REST, ids=[c[0] for c in OVER_REST])
def test_the_grpc_bad_request_table_over_rest_gets_tf_serving_http_codes(served, case, service, method, request_,
                                                                          code, message):
    url, _, _, _ = served
    status, content_type, answer = _call(url, *_over_rest(method, request_))
    assert (status, content_type.split(";")[0]) == (HTTP_STATUS[code], "application/json"), answer
    assert list(answer) == ["error"] and REST_MESSAGES.get(case, message) in answer["error"]
    assert _ok(url, "POST", f"/v1/models/{MODEL}:predict", {"instances": ["a good film"]})["predictions"][0]["label"]


PREDICT, CLASSIFY = f"/v1/models/{MODEL}:predict", f"/v1/models/{MODEL}:classify"
# (case, HTTP method, path, body, HTTP status, text the error must contain)
REST_BAD_REQUESTS = [
    ("empty body", "POST", PREDICT, b"", 400, "JSON Parse error: The document is empty"),
    ("not JSON", "POST", PREDICT, b"{instances", 400, "JSON Parse error: "),
    ("not an object", "POST", PREDICT, ["x"], 400, 'JSON Value: ["x"] Is not object'),
    ("both formats", "POST", PREDICT, {"instances": ["x"], "inputs": ["x"]}, 400,
     "expecting only one of 'inputs' or 'instances' keys to exist"),
    ("neither format", "POST", PREDICT, {"signature_name": contract.PREDICT_SIGNATURE}, 400,
     "Missing 'inputs' or 'instances' key"),
    ("signature name not a string", "POST", PREDICT, {"signature_name": 1, "instances": ["x"]}, 400,
     "'signature_name' key must be a string value"),
    ("no instances", "POST", PREDICT, {"instances": []}, 400, "No values in 'instances' array"),
    ("a number for a string", "POST", PREDICT, {"instances": [1]}, 400,
     "input 'text': JSON Value: 1 Type: Number is not of expected type: string"),
    ("ragged rows", "POST", PREDICT, {"inputs": {"text": [["a"], ["b", "c"]]}}, 400,
     "Encountered list at unexpected size: 2 at level: 1 expected size: 1"),
    ("objects with other keys", "POST", PREDICT, {"instances": [{"text": "a"}, {"text_pair": "b"}]}, 400,
     "keys must be equal to: text"),
    ("bad base64", "POST", PREDICT, {"instances": [{"b64": "%%"}]}, 400, "Unable to base64 decode"),
    ("classify: no examples key", "POST", CLASSIFY, {"signature_name": contract.CLASSIFY_SIGNATURE}, 400,
     "key 'examples' is expected and was not found"),
    ("classify: nested list", "POST", CLASSIFY, {"examples": [{"sentence": [["x"]]}]}, 400,
     "Feature: sentence has element with unexpected JSON type: Array"),
    ("classify: mixed kinds", "POST", CLASSIFY, {"examples": [{"sentence": ["x", 1]}]}, 400,
     "Unexpected element type in feature: sentence expecting type: bytes"),
    ("GET on predict", "GET", PREDICT, None, 400, f"Malformed request: GET {PREDICT}"),
    ("PUT", "PUT", f"/v1/models/{MODEL}", b"", 400, f"Malformed request: PUT /v1/models/{MODEL}"),
    ("no model name in the status path", "GET", "/v1/models", None, 400, "Missing model name in request."),
    ("version past int64", "GET", f"/v1/models/{MODEL}/versions/{2 ** 64}", None, 400,
     f"Failed to convert version: {2 ** 64} to numeric."),
    ("not an API path", "GET", "/v2/models", None, 404, "Not found: GET /v2/models"),
    ("POST to the metrics", "POST", PROMETHEUS_METRICS_PATH, b"", 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("case,method,path,body,status,message", REST_BAD_REQUESTS,
                         ids=[c[0] for c in REST_BAD_REQUESTS])
def test_json_that_is_no_request_gets_a_json_error(served, case, method, path, body, status, message):
    url, _, _, _ = served
    answered, content_type, answer = _call(url, method, path, body)
    assert (answered, content_type.split(";")[0]) == (status, "application/json"), answer
    assert list(answer) == ["error"] and message in answer["error"]


def test_sigterm_stops_both_apis(served):
    """Last in this module: it stops the module's server."""
    url, _, _, process = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "albert-tfx serve: stopped" in process.stdout.read()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        _call(url, "GET", f"/v1/models/{MODEL}")
