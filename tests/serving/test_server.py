"""The local server (`serving/server.py`) over loopback gRPC: TF Serving's status codes for bad requests, metadata,
model status, hot swap under load, failed versions, server-side batching, labels, shutdown.

Two exports of the same untrained tiny classifier are built once per process (`tiny_exports`): version 1's
classifier bias favours label id 0 and version 2's label id 1, so every answer shows which version gave it.
The exports and the gRPC helpers live in tests/serving/support/exports.py.
"""

import os
import shutil
import socket
import threading
import time
from typing import Dict, List, Tuple

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_log_pb2,
                                     prediction_service_pb2_grpc)

from serving import contract
from serving.batching import BatchingConfig
from serving.client import SIGNATURE_DEF_FIELD, ClientConfig, ServingClient
from serving.model_manager import ModelConfig, VersionPolicy
from serving.server import LocalModelServer, ServerConfig
from tests.serving.support import tiny_task
from tests.serving.support.bad_requests import BAD_REQUESTS, MAX_REQUEST_BATCH, MAX_TEXT_BYTES, T
from tests.serving.support.bad_requests import predict as _predict
from tests.serving.support.bad_requests import spec as _spec
from tests.serving.support.bad_requests import strings as _text
from tests.serving.support.exports import MODEL, in_process, push, start_server, tiny_exports, wait_for

TEXTS = ["a good and lovely film", "", "The plot was grim, dull and tedious.", "ünïcode 文字 " * 30]


# --- a served model with small limits (tests/serving/support/bad_requests.py), for the bad-request table -----


@pytest.fixture(scope="module")
def exports():
    return tiny_exports()


@pytest.fixture(scope="module")
def server(exports, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("serving") / MODEL)
    push(exports.dirs[1], base, 1)
    server = start_server(base, max_request_batch=MAX_REQUEST_BATCH, max_text_bytes=MAX_TEXT_BYTES)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stubs(server):
    channel = grpc.insecure_channel(server.address)
    yield (prediction_service_pb2_grpc.PredictionServiceStub(channel), model_service_pb2_grpc.ModelServiceStub(channel))
    channel.close()


@pytest.mark.parametrize("case,service,method,request_,code,message", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_tf_serving_status_codes_and_the_server_keeps_answering(
        stubs, server, case, service, method, request_, code, message):
    stub = stubs[0] if service == "predict" else stubs[1]
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, method)(request_, timeout=30)
    assert raised.value.code() == code, raised.value.details()
    assert message in raised.value.details()
    good = stubs[0].Predict(_predict(**{T: _text("a good film")}), timeout=30)
    assert good.model_spec.version.value == 1
    assert tf.make_ndarray(good.outputs[contract.PROBABILITIES_OUTPUT]).shape == (1, 2)


def test_request_counts_record_every_answer(server, stubs):
    before = server.request_counts()
    with pytest.raises(grpc.RpcError):
        stubs[0].Predict(_predict(_spec("nope"), **{T: _text("x")}), timeout=30)
    stubs[0].Predict(_predict(**{T: _text("x")}), timeout=30)
    after = server.request_counts()
    assert after[("Predict", "NOT_FOUND")] == before.get(("Predict", "NOT_FOUND"), 0) + 1
    assert after[("Predict", "OK")] == before.get(("Predict", "OK"), 0) + 1


def test_predict_response_names_model_version_and_signature_and_honours_output_filter(stubs, exports):
    request = predict_pb2.PredictRequest(model_spec=_spec(), inputs={T: _text(*TEXTS)},
                                         output_filter=[contract.LABEL_OUTPUT])
    response = stubs[0].Predict(request, timeout=30)
    assert (response.model_spec.name, response.model_spec.version.value, response.model_spec.signature_name) == (
        MODEL, 1, contract.PREDICT_SIGNATURE)
    assert list(response.outputs) == [contract.LABEL_OUTPUT]
    expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.LABEL_OUTPUT]
    assert tf.make_ndarray(response.outputs[contract.LABEL_OUTPUT]).tolist() == expected.tolist()


def test_classify_with_context_merges_the_context_features_into_every_example(stubs, exports):
    """example_list_with_context: TF Serving's Input kind where shared features live in the context."""
    request = classification_pb2.ClassificationRequest(model_spec=_spec(signature=contract.CLASSIFY_SIGNATURE))
    with_context = request.input.example_list_with_context
    with_context.context.ParseFromString(tiny_task.example(**{exports.text_feature: TEXTS[0]}))
    with_context.examples.add()  # no features of its own: the context's text
    with_context.examples.add().ParseFromString(tiny_task.example(**{exports.text_feature: TEXTS[2]}))  # overrides it
    response = stubs[0].Classify(request, timeout=30)
    scores = [[c.score for c in item.classes] for item in response.result.classifications]
    expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=[TEXTS[0], TEXTS[2]])
    np.testing.assert_allclose(scores, expected[contract.PROBABILITIES_OUTPUT], atol=1e-5)
    assert [[c.label for c in item.classes] for item in response.result.classifications] == [
        list(exports.label_names)] * 2


def test_metadata_is_the_signature_def_map_packed_in_an_any(stubs, server, exports):
    request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=_spec(), metadata_field=[SIGNATURE_DEF_FIELD])
    response = stubs[0].GetModelMetadata(request, timeout=30)
    assert (response.model_spec.name, response.model_spec.version.value) == (MODEL, 1)
    assert list(response.metadata) == [SIGNATURE_DEF_FIELD]
    packed = response.metadata[SIGNATURE_DEF_FIELD]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert packed.Unpack(signature_map)
    on_disk = contract.list_signature_defs(exports.dirs[1])
    assert dict(signature_map.signature_def) == on_disk
    assert contract.missing_from_contract(dict(signature_map.signature_def), 1) == []
    assert signature_map.signature_def[contract.CLASSIFY_SIGNATURE].method_name == contract.CLASSIFY_METHOD_NAME


def test_model_status_reports_the_available_version(stubs):
    response = stubs[1].GetModelStatus(get_model_status_pb2.GetModelStatusRequest(model_spec=_spec()), timeout=30)
    assert [(s.version, s.state, s.status.error_code) for s in response.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0)]


def test_binds_loopback_only_by_default(server):
    assert ServerConfig.for_base_path("x").host == "127.0.0.1"
    assert server.address == f"127.0.0.1:{server.port}"
    # Linux routes all of 127.0.0.0/8 to the loopback device: only a server bound to every address answers here.
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex(("127.0.0.2", server.port)) != 0
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex(("127.0.0.1", server.port)) == 0


# --- versions: hot swap, failures, policies and labels ------------------------------------------------------


def _client(server, **options) -> ServingClient:
    options.setdefault("deadline_s", 60)
    return ServingClient(ClientConfig(server.address, **options))


def test_hot_swap_under_concurrent_load_fails_no_request(exports, tmp_path):
    base = str(tmp_path / MODEL)
    push(exports.dirs[1], base, 1)
    expected = {v: in_process(exports.dirs[v], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.PROBABILITIES_OUTPUT]
                for v in (1, 2)}
    server = start_server(base)
    results: List[Tuple[int, np.ndarray]] = []
    errors: List[BaseException] = []
    stop = threading.Event()

    def load():
        with _client(server, retries=0) as client:
            while not stop.is_set():
                try:
                    result = client.predict(TEXTS)
                    results.append((result.version, result.outputs[contract.PROBABILITIES_OUTPUT]))
                except BaseException as error:  # any failure is what this test looks for
                    errors.append(error)

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: len(results) >= 8, what="answers from version 1")
        manager = server.registry.managers[MODEL]
        with manager.acquire() as held:  # an in-flight request on version 1 across the swap
            assert held.version == 1
            push(exports.dirs[2], base, 2)
            wait_for(lambda: sum(v == 2 for v, _ in results) >= 8, what="answers from version 2")
            states = {s.version: s.state for s in manager.states()}
            assert states == {2: "AVAILABLE", 1: "UNLOADING"}  # not unloaded while in use
            np.testing.assert_allclose(held.run(contract.PREDICT_SIGNATURE, {T: np.array(TEXTS, dtype=object)})[
                contract.PROBABILITIES_OUTPUT], expected[1], atol=1e-5)
        wait_for(lambda: {s.version: s.state for s in manager.states()} == {2: "AVAILABLE", 1: "END"},
                 what="version 1 to be unloaded")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.stop()
    assert not errors, errors[:3]
    assert {v for v, _ in results} == {1, 2}
    for version, probabilities in results:
        np.testing.assert_allclose(probabilities, expected[version], atol=1e-5)


def test_a_version_that_fails_to_load_leaves_the_serving_version_in_place(exports, tmp_path):
    base = str(tmp_path / MODEL)
    push(exports.dirs[1], base, 1)
    server = start_server(base)
    try:
        broken = push(exports.dirs[2], base, 2)
        with open(os.path.join(broken, contract.SAVED_MODEL_FILE), "wb") as handle:
            handle.write(b"not a SavedModel")
        manager = server.registry.managers[MODEL]
        wait_for(lambda: any(s.version == 2 and s.state == "END" for s in manager.states()), what="version 2 to fail")
        # A version whose warmup requests fail is not served either (TF Serving fails the load too).
        bad_warmup = push(exports.dirs[2], base, 3)
        log = prediction_log_pb2.PredictionLog()
        log.predict_log.request.model_spec.signature_name = "nope"
        with tf.io.TFRecordWriter(contract.warmup_path(bad_warmup)) as writer:
            writer.write(log.SerializeToString())
        wait_for(lambda: any(s.version == 3 and s.state == "END" for s in manager.states()), what="version 3 to fail")
        with _client(server) as client:
            statuses = {s.version: s for s in client.model_status()}
            assert statuses[1].state == "AVAILABLE" and statuses[1].error_code == 0
            assert statuses[2].state == "END" and "Error parsing message" in statuses[2].error_message
            assert statuses[2].error_code != 0
            assert statuses[3].state == "END" and 'Serving signature key "nope" not found' in statuses[3].error_message
            result = client.predict(TEXTS)
        assert result.version == 1
        assert set(result.outputs[contract.LABEL_ID_OUTPUT].tolist()) == {0}  # version 1's bias
        # A failed version is not retried on every poll, only once its directory is replaced by a new push.
        failed_at = {s.version: s.changed_at for s in manager.states() if s.state == "END"}
        time.sleep(1.0)  # five polls
        assert {s.version: s.changed_at for s in manager.states() if s.state == "END"} == failed_at
        shutil.rmtree(os.path.join(base, "3"))
        push(exports.dirs[2], base, 3)
        wait_for(lambda: manager.available_versions() == [3], what="the re-pushed version 3")
    finally:
        server.stop()


def test_model_config_file_serves_versions_by_policy_and_label(exports, tmp_path):
    from serving.model_manager import read_model_config_file

    base = tmp_path / "models" / "sentiment"
    for version in (1, 2):
        push(exports.dirs[version], str(base), version)
    config_file = tmp_path / "models.config"
    config_file.write_text("""
        model_config_list {
          config {
            name: "sentiment"
            base_path: "models/sentiment"   # relative to this file
            model_platform: "tensorflow"
            model_version_policy { specific { versions: 1 versions: 2 } }
            version_labels { key: "stable" value: 1 }
            version_labels { key: "canary" value: 2 }
          }
        }""", encoding="utf-8")
    models = read_model_config_file(str(config_file))
    assert models == [ModelConfig("sentiment", str(base), VersionPolicy("specific", versions=(1, 2)),
                                  {"stable": 1, "canary": 2})]
    server = LocalModelServer(ServerConfig(models=tuple(models), port=0, poll_interval_s=0)).start()
    try:
        answers = {}
        for label in ("stable", "canary"):
            with _client(server, model_name="sentiment", version_label=label) as client:
                answers[label] = client.predict(TEXTS[:2])
        assert (answers["stable"].version, answers["canary"].version) == (1, 2)
        assert set(answers["stable"].outputs[contract.LABEL_ID_OUTPUT]) == {0}
        assert set(answers["canary"].outputs[contract.LABEL_ID_OUTPUT]) == {1}
        with _client(server, model_name="sentiment") as client:
            assert client.predict(TEXTS[:1]).version == 2  # no version asked: the highest
            assert [(s.version, s.state) for s in client.model_status()] == [(2, "AVAILABLE"), (1, "AVAILABLE")]
    finally:
        server.stop()
    config_file.write_text('model_config_list { config { name: "x" base_path: "y" model_platform: "pytorch" } }')
    with pytest.raises(ValueError, match="only 'tensorflow'"):
        read_model_config_file(str(config_file))


def test_server_side_batching_merges_concurrent_requests(exports, tmp_path):
    base = str(tmp_path / MODEL)
    push(exports.dirs[2], base, 2)
    batching = BatchingConfig(max_batch_size=8, batch_timeout_s=0.2)
    server = start_server(base, batching=batching, warmup=False)
    try:
        with server.registry.managers[MODEL].acquire() as servable:
            batcher = servable.batchers[contract.PREDICT_SIGNATURE]
        barrier = threading.Barrier(6)
        answers: Dict[int, np.ndarray] = {}

        def one(i):
            with _client(server) as client:
                barrier.wait()
                answers[i] = client.predict([TEXTS[i % len(TEXTS)]]).outputs[contract.PROBABILITIES_OUTPUT][0]

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert batcher.tasks_run == 6 and batcher.batches_run < 6  # merged
        expected = in_process(exports.dirs[2], contract.PREDICT_SIGNATURE, text=TEXTS)[contract.PROBABILITIES_OUTPUT]
        for i, probabilities in answers.items():
            np.testing.assert_allclose(probabilities, expected[i % len(TEXTS)], atol=1e-5)
        # A request larger than a batch runs on its own, past the batcher.
        with _client(server) as client:
            big = client.predict(TEXTS * 3)
        np.testing.assert_allclose(big.outputs[contract.PROBABILITIES_OUTPUT], np.concatenate([expected] * 3), atol=1e-5)
        assert batcher.tasks_run == 6
    finally:
        server.stop()


def test_graceful_shutdown_finishes_in_flight_calls_and_refuses_new_ones(exports, tmp_path):
    base = str(tmp_path / MODEL)
    push(exports.dirs[1], base, 1)
    # A long batch timeout keeps a lone request in flight for ~1.5 s: long enough to stop the server under it.
    server = start_server(base, batching=BatchingConfig(max_batch_size=8, batch_timeout_s=1.5), warmup=False)
    address = server.address
    outcome = {}

    def in_flight():
        with _client(server) as client:
            outcome["result"] = client.predict(TEXTS[:1])

    thread = threading.Thread(target=in_flight)
    thread.start()
    manager = server.registry.managers[MODEL]
    wait_for(lambda: _batch_queued(manager), 30, "the request to wait in the batch queue")
    started = time.monotonic()
    server.stop(grace_s=10)
    thread.join()
    assert outcome["result"].version == 1  # finished, not cut off
    assert time.monotonic() - started < 10
    assert [s.state for s in manager.states()] == ["END"]
    with ServingClient(ClientConfig(address, retries=0, deadline_s=5)) as client:
        with pytest.raises(Exception, match="UNAVAILABLE"):
            client.predict(["x"])


def _batch_queued(manager) -> bool:
    servables = list(manager._available.values())  # a peek for the test: is one request waiting in a batch?
    return bool(servables) and any(b._queued_rows for b in servables[0].batchers.values())
