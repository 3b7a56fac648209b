"""A question-answering export served (serving/server.py, serving/rest.py) beside a classifier: Predict on `qa`
over gRPC and REST (named or as the default signature), answers cut from their contexts; Classify refused;
the client's `answer`; `albert-tfx predict --question/--context` and its one-line errors; the canary's QA sample
request and answer check.

One in-process server with two models (the tiny QA export of tests/serving/support/tiny_qa.py, and the tiny
classifier of tests/serving/support/exports.py) for the whole module.
"""

import json
import logging
import os
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_service_pb2_grpc

from albert_tfx.cli import main
from serving import canary, contract
from serving.client import ClientConfig, ServingClient
from serving.model_manager import ModelConfig
from serving.server import LocalModelServer, ServerConfig
from tests.serving.support.exports import MODEL, push, string_tensor, tiny_export
from tests.serving.support.tiny_qa import QA_MODEL, tiny_qa_export

QUESTIONS = ["Who jumps?", "what?", "谁?"]
CONTEXTS = ["The quick brown fox jumps over the lazy dog.", "an answer.", "北京是中国的首都。"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa-serving")
    qa_base, classifier_base = str(root / QA_MODEL), str(root / MODEL)
    push(tiny_qa_export(), qa_base, 1)
    push(tiny_export(), classifier_base, 1)
    server = LocalModelServer(ServerConfig(models=(ModelConfig(QA_MODEL, qa_base), ModelConfig(MODEL, classifier_base)),
                                           port=0, rest_port=0, poll_interval_s=0)).start()
    for name in (QA_MODEL, MODEL):
        with ServingClient(ClientConfig(server.address, name)) as client:
            client.wait_until_available(timeout_s=60)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(server.address)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def _qa_request(signature_name):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = QA_MODEL
    if signature_name is not None:
        request.model_spec.signature_name = signature_name
    request.inputs[contract.QUESTION].CopyFrom(string_tensor(QUESTIONS))
    request.inputs[contract.CONTEXT].CopyFrom(string_tensor(CONTEXTS))
    return request


@pytest.mark.parametrize("signature_name", [contract.QA_SIGNATURE, None])
def test_grpc_predict_on_qa_answers_with_text_from_each_context(stub, signature_name):
    response = stub.Predict(_qa_request(signature_name), timeout=60)
    assert response.model_spec.signature_name == contract.QA_SIGNATURE  # the QA export's default
    outputs = {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}
    assert sorted(outputs) == sorted(contract.QA_OUTPUTS)  # a v1 model: no no_answer_score
    assert response.outputs[contract.ANSWER_TEXT].dtype == tf.string.as_datatype_enum
    assert outputs[contract.SCORE].dtype == np.float32 and outputs[contract.START_CHAR].dtype == np.int64
    for i, context in enumerate(CONTEXTS):
        answer = outputs[contract.ANSWER_TEXT][i].decode("utf-8")
        start, end = int(outputs[contract.START_CHAR][i]), int(outputs[contract.END_CHAR][i])
        assert answer and answer == context[start:end], (answer, context, start, end)


def test_a_classifier_still_defaults_to_serving_default_and_classify_to_a_qa_model_is_invalid(stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs[contract.TEXT_INPUT].CopyFrom(string_tensor(["a good film"]))
    response = stub.Predict(request, timeout=60)
    assert response.model_spec.signature_name == contract.PREDICT_SIGNATURE
    assert contract.LABEL_OUTPUT in response.outputs
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = QA_MODEL
    classify.input.example_list.examples.add()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Classify(classify, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "question-answering export" in caught.value.details() and "'qa'" in caught.value.details()


def _rest_predict(server, model, body):
    request = urllib.request.Request(f"http://{server.rest_address}/v1/models/{model}:predict",
                                     data=json.dumps(body).encode("utf-8"), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("named", [True, False])
def test_rest_predict_on_qa_answers_strings_from_each_context(server, named):
    body = {"instances": [{"question": q, "context": c} for q, c in zip(QUESTIONS, CONTEXTS)]}
    if named:
        body["signature_name"] = contract.QA_SIGNATURE
    status, answer = _rest_predict(server, QA_MODEL, body)
    assert status == 200, answer
    for row, context in zip(answer["predictions"], CONTEXTS):
        assert sorted(row) == sorted(contract.QA_OUTPUTS)
        assert isinstance(row[contract.ANSWER_TEXT], str) and isinstance(row[contract.SCORE], float)
        assert row[contract.ANSWER_TEXT] == context[row[contract.START_CHAR]:row[contract.END_CHAR]] != ""


def test_rest_classify_to_a_qa_model_is_a_400_naming_the_qa_signature(server):
    request = urllib.request.Request(f"http://{server.rest_address}/v1/models/{QA_MODEL}:classify",
                                     data=json.dumps({"examples": [{"question": "q"}]}).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 400 and "question-answering export" in json.loads(caught.value.read())["error"]


def test_the_client_answers_in_batches_with_answers_from_the_contexts(server):
    with ServingClient(ClientConfig(server.address, QA_MODEL, batch_size=2)) as client:
        result = client.answer(QUESTIONS, CONTEXTS)
        with pytest.raises(ValueError, match="3 questions but 2 contexts"):
            client.answer(QUESTIONS, CONTEXTS[:2])
    assert result.signature == contract.QA_SIGNATURE and result.version == 1 and result.versions == (1, 1)
    assert len(result.answers) == len(QUESTIONS)
    for answer, context in zip(result.answers, CONTEXTS):
        assert answer.text == context[answer.start_char:answer.end_char] != ""
        assert answer.no_answer_score is None and "no_answer_score" not in answer.to_dict()


def _predict(capsys, *args):
    """The CLI's exit code, stdout and stderr. The server runs in this process: its request log (INFO) is held
    back, since a logging handler another test left on the root logger would print it among the CLI's lines."""
    server_logger = logging.getLogger("serving.server")
    level = server_logger.level
    server_logger.setLevel(logging.WARNING)
    try:
        code = main(["predict", *args])
    finally:
        server_logger.setLevel(level)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_predict_with_questions_prints_one_json_line_each(server, capsys, tmp_path):
    code, out, err = _predict(capsys, "--server", server.address, "--model", QA_MODEL,
                              "--question", QUESTIONS[0], "--context", CONTEXTS[0])
    assert code == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["question"] == QUESTIONS[0] and row["answer"] == CONTEXTS[0][row["start_char"]:row["end_char"]]
    assert sorted(row) == ["answer", "end_char", "question", "score", "start_char"]
    lines = tmp_path / "questions.jsonl"
    lines.write_text("".join(json.dumps({"question": q, "context": c}) + "\n" for q, c in zip(QUESTIONS, CONTEXTS)),
                     encoding="utf-8")
    code, out, err = _predict(capsys, "--server", server.address, "--model", QA_MODEL, "--input-file", str(lines))
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["question"] for r in rows] == QUESTIONS
    assert all(r["answer"] == c[r["start_char"]:r["end_char"]] for r, c in zip(rows, CONTEXTS))


@pytest.mark.parametrize("model, args, message", [
    (QA_MODEL, ["--question", "q"], "received 1 --question and 0 --context"),
    (QA_MODEL, ["--context", "c"], "received 0 --question and 1 --context"),
    (QA_MODEL, ["--question", "q", "--context", "c", "some text"], "received both"),
    (QA_MODEL, ["a text"], "is a question-answering export"),
    (MODEL, ["--question", "q", "--context", "c"], "is not a question-answering export"),
])
def test_cli_predict_errors_are_one_line_naming_the_problem(server, capsys, model, args, message):
    code, out, err = _predict(capsys, "--server", server.address, "--model", model, "--retries", "0", *args)
    assert code == 2 and not out
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_the_canary_sends_a_qa_export_a_qa_question_and_checks_answers_are_from_the_context():
    metadata = contract.read_metadata(tiny_qa_export())
    example = tf.train.Example()
    example.features.feature[contract.QUESTION].bytes_list.value.append(b"Who?")
    example.features.feature[contract.CONTEXT].bytes_list.value.append(b"The fox.")
    (log,) = canary.sample_requests(metadata, [example.SerializeToString()], "m")
    request = log.predict_log.request
    assert request.model_spec.signature_name == contract.QA_SIGNATURE
    contexts = tf.make_ndarray(request.inputs[contract.CONTEXT]).tolist()
    assert contexts == [b"The fox.", canary.QA_SAMPLE_CONTEXT.encode()]
    canary.check_qa_answers("ok", log, {contract.ANSWER_TEXT: np.array([b"fox", b""], dtype=object)})
    with pytest.raises(canary.CanaryFailure, match="answer 1 'elsewhere' is not in its context 'an answer.'"):
        canary.check_qa_answers("bad", log, {contract.ANSWER_TEXT: np.array([b"fox", b"elsewhere"], dtype=object)})


def test_a_qa_export_without_a_warmup_file_warms_up_with_one_qa_call(tmp_path, caplog):
    """Without assets.extra's warmup file the server makes one call to the default signature, `qa` here."""
    import logging
    import shutil

    from serving import metrics as metrics_lib
    from serving.model_manager import Servable
    from serving.server import Services

    export_dir = str(tmp_path / "1")
    shutil.copytree(tiny_qa_export(), export_dir)
    os.remove(contract.warmup_path(export_dir))
    servable = Servable(QA_MODEL, 1, export_dir)
    assert (servable.task, servable.default_signature) == (contract.TASK_QA, contract.QA_SIGNATURE)
    services = Services(None, ServerConfig.for_base_path(str(tmp_path)), metrics_lib.ServingMetrics([QA_MODEL]))
    with caplog.at_level(logging.INFO, logger="serving.server"):
        services.warm_up(servable)
    assert "warmed up with one call" in caplog.text
    servable.unload()
