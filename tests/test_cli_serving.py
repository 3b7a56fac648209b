"""`albert-tfx serve` (the installed console script, as a process) and `albert-tfx predict` (in-process `main`):
real sentences in, JSON out; status and metadata; clear errors; SIGTERM stops the server gracefully."""

import json
import os
import signal
import socket
import time

import pytest

from albert_tfx.cli import main
from serving import contract
from tests.serving.support.exports import MODEL, push, tiny_exports
from tests.serving.support.serve_process import ready_addresses, running_serve

SENTENCES = ["it 's a charming and often affecting journey .", "unflinchingly bleak and desperate"]


@pytest.fixture(scope="module")
def serve_process(tmp_path_factory):
    exports = tiny_exports()
    base = str(tmp_path_factory.mktemp("serving") / MODEL)
    push(exports.dirs[1], base, 1)
    with running_serve(["--model-base-path", base, "--port", "0", "--poll-seconds", "0.5"],
                       tmp_path_factory.mktemp("logs") / "serve.log") as (process, line, log):
        yield process, ready_addresses(line)[0], exports, log


def _predict(capsys, *args):
    code = main(["predict", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_predict_prints_labels_and_probabilities_as_json(serve_process, capsys):
    _, address, exports, _ = serve_process
    code, out, err = _predict(capsys, "--server", address, "--model", MODEL, *SENTENCES)
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["model"], answer["version"], answer["signature"]) == (MODEL, 1, contract.PREDICT_SIGNATURE)
    assert [row["text"] for row in answer["predictions"]] == SENTENCES
    for row in answer["predictions"]:
        assert row["label"] == exports.label_names[0] and row["label_id"] == 0  # version 1's bias
        assert len(row["probabilities"]) == 2 and abs(sum(row["probabilities"]) - 1) < 1e-5


def test_predict_classify_input_file_status_and_metadata(serve_process, capsys, tmp_path):
    _, address, exports, _ = serve_process
    code, out, err = _predict(capsys, "--server", address, "--classify", "--text-feature", exports.text_feature,
                              SENTENCES[0])
    assert code == 0, err
    row = json.loads(out)["predictions"][0]
    assert sorted(row["scores"]) == sorted(exports.label_names) and row["label"] == exports.label_names[0]

    texts = tmp_path / "texts.txt"
    texts.write_text("first line\n\nsecond line\n", encoding="utf-8")
    code, out, err = _predict(capsys, "--server", address, "--input-file", str(texts), "--batch-size", "1")
    assert code == 0, err
    answer = json.loads(out)
    assert [r["text"] for r in answer["predictions"]] == ["first line", "second line"] and answer["versions"] == [1]

    code, out, err = _predict(capsys, "--server", address, "--status")
    assert code == 0, err
    assert json.loads(out) == {"model": MODEL, "versions": [
        {"version": 1, "state": "AVAILABLE", "error_code": 0, "error_message": ""}]}

    code, out, err = _predict(capsys, "--server", address, "--metadata-only")
    assert code == 0, err
    signatures = json.loads(out)["signatures"]
    assert signatures[contract.CLASSIFY_SIGNATURE]["method_name"] == contract.CLASSIFY_METHOD_NAME
    assert signatures[contract.PREDICT_SIGNATURE]["inputs"] == {contract.TEXT_INPUT: {"dtype": "string", "shape": [-1]}}


@pytest.mark.parametrize("args,message", [
    (["--model", "nope", "x"], "Predict on {address} failed: NOT_FOUND: Servable not found for request: Latest(nope)"),
    (["--version", "9", "x"], "NOT_FOUND: Servable not found for request: Specific(albert, 9)"),
    (["--classify", "x"], "pass --text-feature NAME"),
    (["--text-pair", "y", "x", "z"], "2 texts but 1 text pairs"),
    ([], "no text to predict"),
    (["--metadata", "novalue", "x"], "metadata must be KEY=VALUE"),
])
def test_predict_errors_name_the_problem(serve_process, capsys, args, message):
    _, address, _, _ = serve_process
    code, out, err = _predict(capsys, "--server", address, *args)
    assert code == 2 and out == ""
    assert message.format(address=address) in err and err.startswith("albert-tfx predict: error: ")


def test_predict_without_a_server_fails_after_its_retries(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = _predict(capsys, "--server", f"127.0.0.1:{port}", "--retries", "1", "--deadline", "5", "x")
    assert code == 2
    assert f"Predict on 127.0.0.1:{port} failed after 2 attempts: UNAVAILABLE" in err


def test_serve_refuses_a_missing_base_path_and_a_busy_port(tmp_path, capsys):
    assert main(["serve", "--model-base-path", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err
    empty = tmp_path / MODEL
    empty.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(["serve", "--model-base-path", str(empty), "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_picks_up_a_new_version_and_stops_gracefully_on_sigterm(serve_process, capsys):
    process, address, exports, log = serve_process
    base = None
    for line in open(log.name, encoding="utf-8"):
        if "loading version 1 from " in line:
            base = os.path.dirname(line.rsplit("loading version 1 from ", 1)[1].strip())
    assert base is not None
    push(exports.dirs[2], base, 2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        code, out, _ = _predict(capsys, "--server", address, SENTENCES[0])
        if code == 0 and json.loads(out)["version"] == 2:
            break
        time.sleep(0.5)
    assert json.loads(out)["predictions"][0]["label"] == exports.label_names[1]  # version 2's bias
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "albert-tfx serve: stopped" in process.stdout.read()
    log.seek(0)
    text = log.read()
    assert "received SIGTERM" in text and "unloaded version 2" in text
