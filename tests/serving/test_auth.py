"""`albert-tfx serve` with a bearer token (`auth_token`, `--auth-token-file`): gRPC calls and REST /v1/ requests
without it or with a wrong one are refused (UNAUTHENTICATED / HTTP 401 with a TF Serving JSON error), with it
answered; the client and `albert-tfx predict --auth-token-file` send it; the metrics page stays open. And the
start-up warning of a server bound beyond loopback without TLS."""

import json
import logging
import urllib.error
import urllib.request

import grpc
import pytest
from tensorflow_serving.apis import get_model_status_pb2, model_pb2, model_service_pb2_grpc

from albert_tfx.cli import main
from serving.client import ClientConfig, ServingClient, ServingError
from serving.deploy import PROMETHEUS_METRICS_PATH
from serving.server import is_loopback
from tests.serving.support.exports import MODEL, push, start_server, tiny_export

TOKEN = "dev-token-0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(server, token file): one in-process server requiring TOKEN, with its REST API."""
    root = tmp_path_factory.mktemp("auth")
    base = str(root / MODEL)
    push(tiny_export(), base, 1)
    token_file = root / "token"
    token_file.write_text(TOKEN + "\n")
    server = start_server(base, rest_port=0, poll_interval_s=0, auth_token=TOKEN)
    yield server, str(token_file)
    server.stop(0)


def _status_call(address: str, metadata=None):
    with grpc.insecure_channel(address) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        return stub.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(
            model_spec=model_pb2.ModelSpec(name=MODEL)), timeout=30, metadata=metadata)


@pytest.mark.parametrize("metadata", [None, (("authorization", "Bearer wrong-token"),),
                                      (("authorization", TOKEN),),  # no "Bearer " scheme
                                      (("authorization", f"Bearer {TOKEN}x"),)],
                         ids=["none", "wrong", "no-scheme", "longer"])
def test_grpc_without_the_right_token_is_unauthenticated(served, metadata):
    server, _ = served
    with pytest.raises(grpc.RpcError) as raised:
        _status_call(server.address, metadata)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "bearer token" in raised.value.details()


def test_grpc_with_the_token_is_answered_and_the_client_sends_it(served):
    server, _ = served
    response = _status_call(server.address, (("authorization", f"Bearer {TOKEN}"),))
    assert response.model_version_status[0].version == 1
    with ServingClient(ClientConfig(server.address, auth_token=TOKEN, deadline_s=60)) as client:
        assert client.predict(["a good film"]).version == 1
    # The client does not retry an UNAUTHENTICATED answer: a wrong token stays wrong.
    with ServingClient(ClientConfig(server.address, auth_token="wrong", deadline_s=60)) as client:
        with pytest.raises(ServingError) as raised:
            client.predict(["a good film"])
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED and raised.value.attempts == 1


def test_predict_command_sends_the_token_file(served, capsys):
    server, token_file = served
    assert main(["predict", "--server", server.address, "--auth-token-file", token_file, "a good film"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    assert main(["predict", "--server", server.address, "a good film"]) == 2
    assert "UNAUTHENTICATED: missing or wrong bearer token" in capsys.readouterr().err


def _rest(server, path: str, authorization=None):
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}{path}")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_rest_without_the_right_token_is_401_with_a_json_error(served, authorization):
    server, _ = served
    status, headers, body = _rest(server, f"/v1/models/{MODEL}", authorization)
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"error": "missing or wrong bearer token: send 'authorization: Bearer <token>'"}


def test_rest_with_the_token_is_answered_and_the_metrics_page_needs_none(served):
    server, _ = served
    status, _, body = _rest(server, f"/v1/models/{MODEL}", f"Bearer {TOKEN}")
    assert status == 200 and json.loads(body)["model_version_status"][0]["state"] == "AVAILABLE"
    status, _, body = _rest(server, PROMETHEUS_METRICS_PATH)
    assert status == 200 and b"# TYPE" in body


def test_serve_refuses_an_unreadable_or_empty_token_file(tmp_path, capsys):
    base = tmp_path / MODEL
    base.mkdir()
    assert main(["serve", "--model-base-path", str(base), "--auth-token-file", str(tmp_path / "missing")]) == 2
    assert f"auth token file {tmp_path / 'missing'}: cannot read it" in capsys.readouterr().err
    (tmp_path / "empty").write_text("\n")
    assert main(["serve", "--model-base-path", str(base), "--auth-token-file", str(tmp_path / "empty")]) == 2
    assert "a bearer token must be one word" in capsys.readouterr().err


def test_a_plaintext_server_beyond_loopback_warns_at_start(served, caplog):
    server, _ = served
    base = server.config.models[0].base_path
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::")
    with caplog.at_level(logging.WARNING, logger="serving.server"):
        exposed = start_server(base, host="0.0.0.0", poll_interval_s=0, warmup=False)
    try:
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("bound to 0.0.0.0, which is not loopback, without TLS" in w for w in warnings), warnings
        with ServingClient(ClientConfig(f"127.0.0.1:{exposed.port}", deadline_s=60)) as client:
            assert client.predict(["a good film"]).version == 1
    finally:
        exposed.stop(0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="serving.server"):
        start_server(base, poll_interval_s=0, warmup=False).stop(0)
    assert not [r for r in caplog.records if "not loopback" in r.getMessage()]
