"""End to end over loopback: export -> push (serving/push.py) -> serve -> the gRPC answers equal the in-process
SavedModel's, for Predict (raw text and tf.Examples) and Classify; a second push is picked up; the export's
warmup file parses, is replayed at load, and every one of its requests is answered over gRPC.
"""

import logging
import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import contract
from serving import warmup
from serving.client import ClientConfig, ServingClient
from serving.push import push_export
from tests.serving.support import tiny_task
from tests.serving.support.exports import MODEL, in_process, start_server, string_tensor, tiny_exports, wait_for

TEXTS = [
    "a charming and often affecting journey",
    "",
    "The plot was grim, dull and tedious.",
    "unseen wörds ünïcode 文字 " * 20,  # longer than max_seq_length: truncated in the graph
    "  bright   warm\tmusic ",
]


@pytest.fixture(scope="module")
def exports():
    return tiny_exports()


@pytest.fixture(scope="module")
def served(exports, tmp_path_factory):
    """Version 1 pushed with serving/push.py and served; yields (server, serving base)."""
    serving_base = str(tmp_path_factory.mktemp("serving_base"))
    result = push_export(exports.dirs[1], serving_base, MODEL)
    assert result.version == 1 and result.path == os.path.join(serving_base, MODEL, "1")
    records = logging.getLogger("serving.server")
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    records.addHandler(handler)
    records.setLevel(logging.INFO)
    try:
        server = start_server(os.path.join(serving_base, MODEL))
    finally:
        records.removeHandler(handler)
    server.load_log = seen
    yield server, serving_base
    server.stop()


def test_predict_and_classify_over_grpc_equal_the_in_process_model(served, exports):
    server, _ = served
    expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=TEXTS)
    with ServingClient(ClientConfig(server.address, deadline_s=60)) as client:
        predicted = client.predict(TEXTS)
        classified = client.classify(TEXTS, text_features=[exports.text_feature])
        examples = client.call_predict(predict_pb2.PredictRequest(
            model_spec=client.model_spec(contract.EXAMPLES_SIGNATURE),
            inputs={contract.EXAMPLES_INPUT: string_tensor([tiny_task.example(**{exports.text_feature: t}) for t in TEXTS])}))
    assert predicted.version == 1 and classified.version == 1
    np.testing.assert_allclose(predicted.outputs[contract.PROBABILITIES_OUTPUT],
                               expected[contract.PROBABILITIES_OUTPUT], atol=1e-6)
    assert predicted.outputs[contract.LABEL_ID_OUTPUT].tolist() == expected[contract.LABEL_ID_OUTPUT].tolist()
    assert predicted.outputs[contract.LABEL_OUTPUT].tolist() == expected[contract.LABEL_OUTPUT].tolist()
    assert [[label for label, _ in row] for row in classified.classes] == [list(exports.label_names)] * len(TEXTS)
    np.testing.assert_allclose([[score for _, score in row] for row in classified.classes],
                               expected[contract.PROBABILITIES_OUTPUT], atol=1e-6)
    np.testing.assert_allclose(tf.make_ndarray(examples.outputs[contract.PROBABILITIES_OUTPUT]),
                               expected[contract.PROBABILITIES_OUTPUT], atol=1e-6)
    rows = predicted.rows(TEXTS)
    assert [r["label"] for r in rows] == [exports.label_names[0]] * len(TEXTS)  # version 1's bias
    assert all(abs(sum(r["probabilities"]) - 1) < 1e-5 for r in rows)


def test_the_warmup_file_parses_is_replayed_at_load_and_each_request_is_answered(served, exports):
    server, serving_base = served
    logs = warmup.read_warmup_requests(os.path.join(serving_base, MODEL, "1"))
    kinds = [log.WhichOneof("log_type") for log in logs]
    assert kinds and set(kinds) == {"predict_log", "classify_log"}
    assert f"{MODEL}: version 1 replayed {len(logs)} warmup requests" in " ".join(server.load_log)
    channel = grpc.insecure_channel(server.address)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
        for log in logs:
            if log.WhichOneof("log_type") == "predict_log":
                request = log.predict_log.request
                request.model_spec.name = MODEL
                response = stub.Predict(request, timeout=60)
                texts = tf.make_ndarray(request.inputs[contract.TEXT_INPUT])
                expected = in_process(exports.dirs[1], contract.PREDICT_SIGNATURE, text=texts)
                np.testing.assert_allclose(tf.make_ndarray(response.outputs[contract.PROBABILITIES_OUTPUT]),
                                           expected[contract.PROBABILITIES_OUTPUT], atol=1e-6)
            else:
                request = log.classify_log.request
                request.model_spec.name = MODEL
                response = stub.Classify(request, timeout=60)
                assert len(response.result.classifications) == len(request.input.example_list.examples)
            assert response.model_spec.version.value == 1
    finally:
        channel.close()


def test_a_second_push_is_served_and_the_pruned_version_goes_away(served, exports):
    server, serving_base = served
    result = push_export(exports.dirs[2], serving_base, MODEL, keep_versions=1)
    assert result.version == 2 and result.removed_versions == (1,)
    expected = in_process(exports.dirs[2], contract.PREDICT_SIGNATURE, text=TEXTS)
    with ServingClient(ClientConfig(server.address, deadline_s=60)) as client:
        wait_for(lambda: client.predict(TEXTS[:1]).version == 2, what="version 2")
        answer = client.predict(TEXTS)
        np.testing.assert_allclose(answer.outputs[contract.PROBABILITIES_OUTPUT],
                                   expected[contract.PROBABILITIES_OUTPUT], atol=1e-6)
        wait_for(lambda: [(s.version, s.state) for s in client.model_status()] == [(2, "AVAILABLE"), (1, "END")],
                 what="version 1 to be unloaded")
    assert sorted(os.listdir(os.path.join(serving_base, MODEL))) == ["2"]
