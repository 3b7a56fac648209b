"""The gRPC client (`serving/client.py`) against a scripted TF Serving stand-in: requests on the wire, batching of
long text lists, retries with backoff on UNAVAILABLE only, deadlines, metadata, TLS, errors, result formatting.

The stand-in is a real gRPC server on loopback implementing TF Serving's services with the
tensorflow-serving-api base classes; it records what it receives and answers from a script, so no model is
needed and these tests run in seconds.
"""

import datetime
import threading
import time
from typing import List

import grpc
import numpy as np
import pytest
import tensorflow as tf
from concurrent import futures
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from serving import contract
from serving.client import (DEADLINE_EXHAUSTED, RETRIES_EXHAUSTED, SIGNATURE_DEF_FIELD, ClientConfig, ServingClient,
                            ServingError, parse_metadata, predictions_json, read_token_file)

LABELS = ("neg", "pos")


class ScriptedServing(prediction_service_pb2_grpc.PredictionServiceServicer, model_service_pb2_grpc.ModelServiceServicer):
    """Answers Predict with `probabilities` [len(text) % 2 ...] etc.; fails or stalls the first calls when told to."""

    def __init__(self):
        self.requests: List = []
        self.metadata: List = []
        self.peers: List[str] = []  # the client's address of each call: a new port is a new connection
        self.fail_first = 0
        self.fail_code = grpc.StatusCode.UNAVAILABLE
        self.delay_s = 0.0
        self.status_script: List[int] = []  # ModelVersionStatus states, one per GetModelStatus call
        self._lock = threading.Lock()

    def _enter(self, request, context):
        with self._lock:
            self.requests.append(request)
            self.metadata.append(dict(context.invocation_metadata()))
            self.peers.append(context.peer())
            failing = len(self.requests) <= self.fail_first
        if self.delay_s:
            time.sleep(self.delay_s)
        if failing:
            context.abort(self.fail_code, f"scripted failure {len(self.requests)}")

    def Predict(self, request, context):
        self._enter(request, context)
        texts = tf.make_ndarray(request.inputs[contract.TEXT_INPUT])
        label_ids = np.array([len(t) % 2 for t in texts], dtype=np.int64)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = 7
        response.model_spec.signature_name = request.model_spec.signature_name or contract.PREDICT_SIGNATURE
        outputs = {
            contract.PROBABILITIES_OUTPUT: np.stack([1.0 - label_ids, label_ids.astype(float)], 1).astype(np.float32),
            contract.LABEL_ID_OUTPUT: label_ids,
            contract.LABEL_OUTPUT: np.array([LABELS[i].encode() for i in label_ids], dtype=object),
        }
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def Classify(self, request, context):
        self._enter(request, context)
        response = classification_pb2.ClassificationResponse()
        response.model_spec.name, response.model_spec.version.value = request.model_spec.name, 7
        response.model_spec.signature_name = request.model_spec.signature_name
        for example in request.input.example_list.examples:
            text = example.features.feature["sentence"].bytes_list.value[0]
            item = response.result.classifications.add()
            for j, label in enumerate(LABELS):
                item.classes.add(label=label, score=float(j == len(text) % 2))
        return response

    def GetModelStatus(self, request, context):
        self._enter(request, context)
        response = get_model_status_pb2.GetModelStatusResponse()
        state = self.status_script.pop(0) if self.status_script else get_model_status_pb2.ModelVersionStatus.AVAILABLE
        response.model_version_status.add(version=7, state=state)
        return response

    def GetModelMetadata(self, request, context):
        self._enter(request, context)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name, response.model_spec.version.value = request.model_spec.name, 7
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        signature = signature_map.signature_def[contract.PREDICT_SIGNATURE]
        signature.method_name = contract.PREDICT_METHOD_NAME
        signature.inputs[contract.TEXT_INPUT].dtype = tf.string.as_datatype_enum
        signature.inputs[contract.TEXT_INPUT].tensor_shape.dim.add(size=-1)
        response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
        return response


def _serve(servicer, credentials=None):
    server = grpc.server(futures.ThreadPoolExecutor(8), options=[("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", credentials) if credentials else server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def scripted():
    servicer = ScriptedServing()
    server, address = _serve(servicer)
    yield servicer, address
    server.stop(0)


def _client(address, **options):
    options.setdefault("backoff_s", 0.01)
    return ServingClient(ClientConfig(address, **options))


def test_predict_sends_the_contract_request_and_joins_batches_in_order(scripted):
    servicer, address = scripted
    texts = ["a", "bb", "ccc", "", "ééé"]
    with _client(address, model_name="sentiment", version=3, batch_size=2) as client:
        result = client.predict(texts)
    assert [tf.make_ndarray(r.inputs[contract.TEXT_INPUT]).tolist() for r in servicer.requests] == [
        [b"a", b"bb"], [b"ccc", b""], ["ééé".encode()]]
    spec = servicer.requests[0].model_spec
    assert (spec.name, spec.version.value, spec.signature_name) == ("sentiment", 3, contract.PREDICT_SIGNATURE)
    assert result.outputs[contract.LABEL_ID_OUTPUT].tolist() == [len(t.encode()) % 2 for t in texts]
    assert (result.model_name, result.version, result.versions) == ("sentiment", 7, (7, 7, 7))
    rows = predictions_json(result, texts)["predictions"]
    assert rows[1] == {"text": "bb", "label": "neg", "label_id": 0, "probabilities": [1.0, 0.0]}
    assert rows[2]["label"] == "pos" and rows[2]["probabilities"] == [0.0, 1.0]


def test_text_pairs_and_version_labels_go_on_the_wire(scripted):
    servicer, address = scripted
    with _client(address, version_label="canary") as client:
        result = client.predict(["a", "b"], ["x", "y"])
    request = servicer.requests[0]
    assert request.model_spec.version_label == "canary" and not request.model_spec.HasField("version")
    assert tf.make_ndarray(request.inputs[contract.TEXT_PAIR_INPUT]).tolist() == [b"x", b"y"]
    assert predictions_json(result, ["a", "b"], ["x", "y"])["predictions"][1]["text_pair"] == "y"


def test_classify_sends_tf_examples_under_the_named_features(scripted):
    servicer, address = scripted
    with _client(address) as client:
        result = client.classify(["one", "four"], text_features=["sentence"])
    request = servicer.requests[0]
    assert request.model_spec.signature_name == contract.CLASSIFY_SIGNATURE
    assert [e.features.feature["sentence"].bytes_list.value[0] for e in request.input.example_list.examples] == [
        b"one", b"four"]
    assert result.classes == [[("neg", 0.0), ("pos", 1.0)], [("neg", 1.0), ("pos", 0.0)]]
    rows = result.rows(["one", "four"])
    assert (rows[0]["label"], rows[0]["label_id"], rows[1]["label"]) == ("pos", 1, "neg")
    assert rows[0]["scores"] == {"neg": 0.0, "pos": 1.0}
    with pytest.raises(ValueError, match="two text feature name"):
        client.classify(["a"], ["b"], text_features=["sentence"])


def test_unavailable_is_retried_with_backoff_until_it_succeeds(scripted):
    servicer, address = scripted
    servicer.fail_first = 2
    with _client(address, retries=3, backoff_s=0.05) as client:
        started = time.monotonic()
        result = client.predict(["x"])
    assert len(servicer.requests) == 3 and result.version == 7
    assert time.monotonic() - started >= 0.05 * 0.5 + 0.1 * 0.5  # two backoffs, jittered to at least half


def test_retries_are_bounded_and_the_error_says_how_many_attempts(scripted):
    servicer, address = scripted
    servicer.fail_first = 10
    with _client(address, retries=2) as client:
        with pytest.raises(ServingError) as raised:
            client.predict(["x"])
    assert len(servicer.requests) == 3
    error = raised.value
    assert error.code == grpc.StatusCode.UNAVAILABLE and error.attempts == 3 and error.exhausted == RETRIES_EXHAUSTED
    assert str(error) == (f"Predict on {address} failed after 3 attempts: UNAVAILABLE: scripted failure 3 "
                          f"(gave up: all 2 retries used within the 30 s deadline)")


def test_each_retry_goes_out_on_a_fresh_connection_and_success_keeps_it(scripted):
    servicer, address = scripted
    servicer.fail_first = 3
    with _client(address, retries=5) as client:
        client.predict(["x"])
        client.predict(["y"])
    assert len(servicer.peers) == 5
    assert len(set(servicer.peers[:4])) == 4  # a reused channel would carry its reconnect backoff into the retries
    assert servicer.peers[4] == servicer.peers[3]


def test_the_deadline_caps_the_retries_and_the_error_says_so(scripted):
    servicer, address = scripted
    servicer.fail_first = 10_000
    with _client(address, retries=30, deadline_s=0.6, backoff_s=0.05, max_backoff_s=0.1) as client:
        started = time.monotonic()
        with pytest.raises(ServingError) as raised:
            client.predict(["x"])
    elapsed = time.monotonic() - started
    error = raised.value
    attempts = len(servicer.requests)
    assert error.exhausted == DEADLINE_EXHAUSTED and error.code == grpc.StatusCode.UNAVAILABLE
    assert 2 < attempts < 31 and error.attempts == attempts
    assert str(error).endswith(f"(gave up: the 0.6 s deadline ran out with {31 - attempts} of 30 retries left)")
    # The last attempt goes out just before the deadline instead of giving up a backoff early.
    assert 0.5 <= elapsed < 1.5


def test_a_call_cut_by_the_deadline_says_the_deadline_ran_out(scripted):
    servicer, address = scripted
    servicer.delay_s = 2.0
    with _client(address, deadline_s=0.3, retries=5) as client:
        with pytest.raises(ServingError) as raised:
            client.predict(["x"])
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and raised.value.exhausted == DEADLINE_EXHAUSTED
    assert "gave up: the 0.3 s deadline ran out with 5 of 5 retries left" in str(raised.value)


def test_a_final_error_names_no_exhausted_limit(scripted):
    servicer, address = scripted
    servicer.fail_first, servicer.fail_code = 1, grpc.StatusCode.NOT_FOUND
    with _client(address) as client:
        with pytest.raises(ServingError) as raised:
            client.predict(["x"])
    assert raised.value.exhausted is None and "gave up" not in str(raised.value)


DOWN_S = 5.0  # several backoffs long: they have grown to their cap


def test_retries_reconnect_at_once_when_a_restarted_server_listens_again():
    """The server goes away under a client loop and comes back on the same port: with the default settings every
    call succeeds, the first one soon after the server is back."""
    with socket_port() as port:
        pass
    address = f"127.0.0.1:{port}"
    servicer = ScriptedServing()
    server = _serve_on(servicer, address)
    answered_at: List[float] = []
    with ServingClient(ClientConfig(address, deadline_s=15)) as client:  # the default backoffs and retries
        client.predict(["x"])
        server.stop(0).wait()
        down_since = time.monotonic()
        restarter = threading.Timer(DOWN_S, lambda: restarted.append((_serve_on(servicer, address), time.monotonic())))
        restarted: List = []
        restarter.start()
        for _ in range(3):
            client.predict(["x"])
            answered_at.append(time.monotonic())
        restarter.join()
    restarted[0][0].stop(0)
    up_at = restarted[0][1]
    assert answered_at[0] - down_since >= DOWN_S
    # Backoffs of at most 1 s (CLIENT_MAX_BACKOFF_S), each on a fresh channel: answered within about that.
    assert answered_at[0] - up_at < 1.6, f"answered {answered_at[0] - up_at:.2f} s after the server was back"


def _serve_on(servicer, address):
    server = grpc.server(futures.ThreadPoolExecutor(4), options=[("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(servicer, server)
    assert server.add_insecure_port(address)
    server.start()
    return server


def test_the_auth_token_is_sent_as_a_bearer_header(scripted, tmp_path):
    servicer, address = scripted
    token_file = tmp_path / "token"
    token_file.write_text("  s3cret-token\n")
    token = read_token_file(str(token_file))
    assert token == "s3cret-token"
    with _client(address, auth_token=token, metadata=(("x-tenant", "acme"),)) as client:
        client.predict(["x"])
    assert servicer.metadata[0]["authorization"] == "Bearer s3cret-token" and servicer.metadata[0]["x-tenant"] == "acme"
    assert "s3cret" not in repr(client.config)
    with pytest.raises(ValueError, match="both set the authorization"):
        ClientConfig(address, auth_token=token, metadata=(("authorization", "Bearer x"),))


@pytest.mark.parametrize("content,message", [
    (b"", "a bearer token must be one word"), (b"two words\n", "a bearer token must be one word"), (b"\xff\xfe", "not ASCII")])
def test_a_bad_token_file_is_refused_naming_it(tmp_path, content, message):
    token_file = tmp_path / "token"
    token_file.write_bytes(content)
    with pytest.raises(ValueError, match=f"auth token file {token_file}: {message}"):
        read_token_file(str(token_file))
    with pytest.raises(OSError, match=f"auth token file {tmp_path / 'missing'}: cannot read it"):
        read_token_file(str(tmp_path / "missing"))


def test_other_errors_are_not_retried(scripted):
    servicer, address = scripted
    servicer.fail_first, servicer.fail_code = 1, grpc.StatusCode.INVALID_ARGUMENT
    with _client(address, retries=3) as client:
        with pytest.raises(ServingError, match="INVALID_ARGUMENT: scripted failure 1"):
            client.predict(["x"])
    assert len(servicer.requests) == 1


def test_the_deadline_bounds_a_call(scripted):
    servicer, address = scripted
    servicer.delay_s = 3.0
    with _client(address, deadline_s=0.3) as client:
        started = time.monotonic()
        with pytest.raises(ServingError) as raised:
            client.predict(["x"])
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 2.0


def test_an_unreachable_server_is_unavailable_after_the_retries():
    with socket_port() as port:
        pass  # a port nobody listens on any more
    with _client(f"127.0.0.1:{port}", retries=2, deadline_s=5) as client:
        with pytest.raises(ServingError) as raised:
            client.model_status()
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE and raised.value.attempts == 3
    assert f"GetModelStatus on 127.0.0.1:{port} failed after 3 attempts: UNAVAILABLE" in str(raised.value)


def socket_port():
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))

    class _Port:
        def __enter__(self):
            return probe.getsockname()[1]

        def __exit__(self, *exc):
            probe.close()

    return _Port()


def test_metadata_is_sent_with_every_call(scripted):
    servicer, address = scripted
    metadata = parse_metadata(["Authorization=Bearer s3cret", "x-tenant=acme=1"])
    assert metadata == (("authorization", "Bearer s3cret"), ("x-tenant", "acme=1"))
    with _client(address, metadata=metadata) as client:
        client.predict(["x"])
        client.model_status()
    for seen in servicer.metadata:
        assert seen["authorization"] == "Bearer s3cret" and seen["x-tenant"] == "acme=1"


def test_status_metadata_and_waiting_for_availability(scripted):
    servicer, address = scripted
    state = get_model_status_pb2.ModelVersionStatus
    servicer.status_script = [state.LOADING, state.LOADING]
    with _client(address) as client:
        assert client.wait_until_available(timeout_s=10, poll_s=0.01) == 7
        assert len(servicer.requests) == 3  # LOADING, LOADING, AVAILABLE
        metadata = client.model_metadata()
    request = servicer.requests[-1]
    assert list(request.metadata_field) == [SIGNATURE_DEF_FIELD]
    assert metadata.version == 7 and list(metadata.signature_defs) == [contract.PREDICT_SIGNATURE]
    assert metadata.to_dict()["signatures"][contract.PREDICT_SIGNATURE]["inputs"] == {
        contract.TEXT_INPUT: {"dtype": "string", "shape": [-1]}}


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                   .sign(key, hashes.SHA256()))
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    return str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), cert_pem, key_pem


def test_tls_with_a_ca_certificate(tmp_path):
    cert_file, _, cert_pem, key_pem = _self_signed(tmp_path)
    servicer = ScriptedServing()
    server, address = _serve(servicer, grpc.ssl_server_credentials([(key_pem, cert_pem)]))
    try:
        with _client(address, tls=True, ca_cert=cert_file, metadata=(("authorization", "Bearer t"),)) as client:
            assert client.predict(["x"]).version == 7
        assert servicer.metadata[-1]["authorization"] == "Bearer t"
        calls = len(servicer.requests)
        with _client(address, retries=0, deadline_s=3) as plaintext:  # a plaintext client cannot talk to it
            with pytest.raises(ServingError, match="UNAVAILABLE"):
                plaintext.predict(["x"])
        with _client(address, tls=True, retries=0, deadline_s=3) as untrusting:  # system roots do not know it
            with pytest.raises(ServingError, match="UNAVAILABLE"):
                untrusting.predict(["x"])
        assert len(servicer.requests) == calls
    finally:
        server.stop(0)


@pytest.mark.parametrize("options,message", [
    (dict(target="localhost"), "HOST:PORT"),
    (dict(target="localhost:99999"), "HOST:PORT"),
    (dict(version=1, version_label="stable"), "not both"),
    (dict(deadline_s=0), "deadline"),
    (dict(retries=-1), "retries"),
    (dict(batch_size=0), "batch size"),
    (dict(ca_cert="ca.pem"), "tls=True"),
    (dict(metadata=(("Bad Key", "x"),)), "metadata key"),
    (dict(metadata=(("grpc-timeout", "1"),)), "metadata key"),
    (dict(metadata=(("x-name", "naïve"),)), "ASCII"),
])
def test_bad_client_settings_are_refused_with_a_reason(options, message):
    options = {"target": "127.0.0.1:8500", **options}
    with pytest.raises(ValueError, match=message):
        ClientConfig(**options)


def test_bad_inputs_fail_before_anything_is_sent(scripted):
    servicer, address = scripted
    with _client(address) as client:
        with pytest.raises(ValueError, match="no texts"):
            client.predict([])
        with pytest.raises(TypeError, match="list of strings"):
            client.predict("one string")
        with pytest.raises(ValueError, match="2 texts but 1 text pairs"):
            client.predict(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_metadata(["novalue"])
    assert servicer.requests == []
