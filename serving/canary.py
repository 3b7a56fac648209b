"""The canary before a push: the candidate export, served by a separate server process, must answer like itself.

`run_canary(export_dir, ...)`:

1. copies the export into a temporary model base path as its only version (`<tmp>/<model_name>/1/`) and starts
   a server on it in a new process: `albert-tfx serve` on 127.0.0.1 and a free port (any command that takes
   the same flags can stand in, `server_command`); it loads the version and replays its warmup file, as TF
   Serving does, before the version is AVAILABLE;
2. meanwhile loads the export in this process with `tf.saved_model.load` (the reference);
3. waits until the server reports the version AVAILABLE (GetModelStatus), or failed to load it (END, with the
   server's error), or exited;
4. sends, with the gRPC client (serving/client.py), the export's warmup requests (`assets.extra`, or the
   requests serving/warmup.py would write when it has none) and a sample of raw tf.Examples (the pusher gives
   a few from the eval split): Predict on `serving_default` with their texts, Classify with the examples (a QA
   export: Predict on `qa` with their questions and contexts and one fixed question, whose answers must be
   pieces of their contexts);
5. compares every answer with what the in-process model computes for the same inputs: floating outputs
   within `atol` (`DEFAULT_ATOL`), all other outputs equal.

Any failure (the export does not load here, the server exits, cannot load it, answers an error, answers
differently, or `timeout_s` passes, loading included) raises `CanaryFailure` with a one-line reason. The
server is stopped (SIGTERM, then SIGKILL) and the temporary directory removed in every case.

This module imports TensorFlow and gRPC only when a canary runs: the pusher's options and the pipeline
config read its defaults without them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from serving import contract, layout
from text_contract import storage

# Loading includes starting a Python with TensorFlow and replaying the warmup requests; a `base` export on a
# busy 2-core machine takes about a minute. Override with serving.canary_timeout_s.
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_ATOL = 1e-4  # on probabilities/scores: far below any difference that changes a label or a metric
DEFAULT_SAMPLE_SIZE = 16  # eval examples the pusher sends besides the warmup requests
CANDIDATE_VERSION = 1
STOP_GRACE_S = 15.0  # after SIGTERM, before SIGKILL

_MAX_REASON_CHARS = 400
# What TensorFlow wraps around its errors' one useful line: graph-node tags and stack-trace lines.
_TF_NODE_TAG = re.compile(r"\[\[\{\{node [^}]*\}\}\]\]|\{\{function_node [^}]*\}\}")
_TF_NOISE_LINE = re.compile(r"^(Graph execution error:|Detected at node |<stack traces unavailable>|File \"|"
                            r"You may be trying to load on a different device)")


class CanaryFailure(RuntimeError):
    """The candidate failed the canary; the message is one line saying why."""

    def __init__(self, reason: str):
        reason = " ".join(_TF_NODE_TAG.sub(" ", str(reason)).split())  # one line, whatever the server or TF said
        if len(reason) > _MAX_REASON_CHARS:
            reason = reason[:_MAX_REASON_CHARS - 3] + "..."
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class CanaryReport:
    """A canary that passed: how many requests matched, the largest float difference seen, who served them."""

    requests: int
    max_abs_difference: float
    seconds: float
    server_pid: int


def default_server_command() -> List[str]:
    """`albert-tfx serve` with this interpreter (`python -m albert_tfx`: no reliance on PATH)."""
    return [sys.executable, "-m", "albert_tfx", "serve"]


def _free_port(host: str) -> int:
    # The server process must bind a port we know before it prints anything; the OS picks a free one here.
    # (Another process could take it in between: the canary then fails and says so, it never pushes.)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _error_text(error: BaseException) -> str:
    """`Type: message`, without the stack-trace lines TensorFlow puts around the message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not _TF_NOISE_LINE.match(line)] or lines
    return f"{type(error).__name__}: {' '.join(useful)}".rstrip(": ")


def sample_requests(metadata: contract.ExportMetadata, examples: Sequence[bytes], model_name: str) -> list:
    """PredictionLogs for serialized raw tf.Examples: Predict (`serving_default`) on their texts (a missing text
    feature reads as empty text, as the model reads it) and Classify with the examples themselves. A QA export
    (metadata task "qa") gets one Predict on `qa` instead (`qa_sample_request`), examples or not."""
    import tensorflow as tf
    from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_log_pb2

    if metadata.task == contract.TASK_QA:
        return [qa_sample_request([tf.train.Example.FromString(e) for e in examples], model_name)]
    if not examples:
        return []
    parsed = [tf.train.Example.FromString(e) for e in examples]
    predict = predict_pb2.PredictRequest()
    predict.model_spec.name, predict.model_spec.signature_name = model_name, contract.PREDICT_SIGNATURE
    for key, feature in zip(contract.text_input_keys(len(metadata.text_features)), metadata.text_features):
        texts = []
        for example in parsed:
            values = example.features.feature[feature].bytes_list.value if feature in example.features.feature else []
            texts.append(values[0] if values else b"")
        predict.inputs[key].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string, shape=[len(texts)]))
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name, classify.model_spec.signature_name = model_name, contract.CLASSIFY_SIGNATURE
    classify.input.example_list.examples.extend(parsed)
    return [prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict)),
            prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify))]


# Always sent to a QA export: a question whose answer must come out of its context (see `check_qa_answers`).
QA_SAMPLE_QUESTION, QA_SAMPLE_CONTEXT = "what?", "an answer."


def qa_sample_request(examples: Sequence, model_name: str):
    """A PredictionLog of Predict on `qa`: the questions and contexts of parsed raw tf.Examples (the QA
    ExampleGen's feature names, which are the signature's input keys; a missing one reads as empty text), then
    `QA_SAMPLE_QUESTION` in `QA_SAMPLE_CONTEXT`, so a QA export is asked at least one real question."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    predict = predict_pb2.PredictRequest()
    predict.model_spec.name, predict.model_spec.signature_name = model_name, contract.QA_SIGNATURE
    sample = {contract.QUESTION: QA_SAMPLE_QUESTION.encode(), contract.CONTEXT: QA_SAMPLE_CONTEXT.encode()}
    for key in contract.QA_INPUTS:
        texts = []
        for example in examples:
            values = example.features.feature[key].bytes_list.value if key in example.features.feature else []
            texts.append(values[0] if values else b"")
        texts.append(sample[key])
        predict.inputs[key].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string, shape=[len(texts)]))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict))


def check_qa_answers(what: str, log, served: Dict[str, np.ndarray]) -> None:
    """CanaryFailure unless every served answer of a Predict on `qa` is "" or a piece of its own context: the
    in-process comparison alone would pass a graph that cuts answers from the wrong place on both sides."""
    import tensorflow as tf

    request = log.predict_log.request
    if log.WhichOneof("log_type") != "predict_log" or request.model_spec.signature_name != contract.QA_SIGNATURE:
        return
    contexts = tf.make_ndarray(request.inputs[contract.CONTEXT]).reshape(-1)
    answers = np.asarray(served.get(contract.ANSWER_TEXT, [])).reshape(-1)
    if len(answers) != len(contexts):
        raise CanaryFailure(f"{what}: {len(answers)} answers for {len(contexts)} contexts")
    for row, (answer, context) in enumerate(zip(answers, contexts)):
        answer, context = answer.decode("utf-8", "replace"), context.decode("utf-8", "replace")
        if answer not in context:
            raise CanaryFailure(f"{what}: answer {row} {answer[:80]!r} is not in its context {context[:80]!r}")


def compare_outputs(what: str, reference: Dict[str, np.ndarray], served: Dict[str, np.ndarray],
                    atol: float = DEFAULT_ATOL) -> float:
    """The largest absolute difference of the floating outputs; CanaryFailure when any output differs."""
    if set(reference) != set(served):
        raise CanaryFailure(f"{what}: the server answered outputs {sorted(served)}, the in-process model "
                            f"{sorted(reference)}")
    largest = 0.0
    for key in sorted(reference):
        want, got = np.asarray(reference[key]), np.asarray(served[key])
        if want.shape != got.shape:
            raise CanaryFailure(f"{what}: output {key!r} has shape {list(got.shape)} from the server, "
                                f"{list(want.shape)} in-process")
        if np.issubdtype(want.dtype, np.floating):
            difference = np.abs(want.astype(np.float64) - got.astype(np.float64))
            worst = float(np.nanmax(difference)) if difference.size else 0.0
            if not np.allclose(got, want, rtol=0.0, atol=atol, equal_nan=True):
                raise CanaryFailure(f"{what}: output {key!r} differs from the in-process model by up to "
                                    f"{worst:.3g} (atol {atol:g})")
            largest = max(largest, worst)
        elif not np.array_equal(want, got):
            index = tuple(int(i) for i in np.argwhere(want != got)[0]) if want.shape else ()
            raise CanaryFailure(f"{what}: output {key!r}{list(index)} is {got[index]!r} from the server, "
                                f"{want[index]!r} in-process")
    return largest


class _Server:
    """The server process on the temporary base path; `stop()` always ends it."""

    def __init__(self, command: Sequence[str], base_path: str, model_name: str, log_path: str):
        from serving.client import DEFAULT_MAX_MESSAGE_BYTES

        self.host = "127.0.0.1"
        self.port = _free_port(self.host)
        self.log_path = log_path
        # TF Serving bounds a request by its gRPC message size only: so does the canary's server (a long eval
        # text must not fail here what production would answer).
        argv = list(command) + ["--model-base-path", base_path, "--model-name", model_name, "--host", self.host,
                                "--port", str(self.port), "--poll-seconds", "0", "--grace-seconds", "1",
                                "--max-text-bytes", str(DEFAULT_MAX_MESSAGE_BYTES)]
        with open(log_path, "wb") as log:  # a file, not a pipe: a chatty server can never block on it
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def exited(self) -> Optional[str]:
        """Why the process is gone (exit code and its last line), or None while it runs."""
        code = self.process.poll()
        if code is None:
            return None
        last = _last_line(self.log_path)
        return f"the server exited with code {code} before it was ready" + (f": {last}" if last else "")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # drains in-flight calls, unloads, exits
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()


class _Deadline:
    def __init__(self, timeout_s: float):
        self.timeout_s, self.end = timeout_s, time.monotonic() + timeout_s

    def remaining(self, waiting_for: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise CanaryFailure(f"the canary timeout of {self.timeout_s:g} s passed while {waiting_for}")
        return left


def _wait_until_available(server: _Server, model_name: str, deadline: _Deadline) -> None:
    import grpc

    from serving import client as client_lib

    while True:
        gone = server.exited()
        if gone:
            raise CanaryFailure(gone)
        left = deadline.remaining("waiting for the server to load the candidate")
        config = client_lib.ClientConfig(server.target, model_name, deadline_s=min(left, 5.0), retries=0)
        try:
            with client_lib.ServingClient(config) as client:
                statuses = {s.version: s for s in client.model_status()}
        except client_lib.ServingError as error:
            # Not listening yet (UNAVAILABLE: the port opens once the first load is done), or not answering yet.
            if error.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND,
                                  grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CanaryFailure(f"the server's model status: {error}") from None
            statuses = {}
        status = statuses.get(CANDIDATE_VERSION)
        if status is not None and status.state == "AVAILABLE":
            return
        if status is not None and status.state == "END":
            raise CanaryFailure(f"the server could not load the candidate: {status.error_message or 'no reason given'}")
        time.sleep(0.2)


def _served_outputs(log, response) -> Dict[str, np.ndarray]:
    import tensorflow as tf

    if log.WhichOneof("log_type") == "predict_log":
        return {key: tf.make_ndarray(tensor) for key, tensor in response.outputs.items()}
    items = response.result.classifications
    return {contract.SCORES_OUTPUT: np.array([[c.score for c in item.classes] for item in items], dtype=np.float32),
            contract.CLASSES_OUTPUT: np.array([[c.label.encode("utf-8") for c in item.classes] for item in items],
                                              dtype=object)}


def _describe(log, what: str) -> str:
    kind = log.WhichOneof("log_type")
    request = log.predict_log.request if kind == "predict_log" else log.classify_log.request
    api = "Predict" if kind == "predict_log" else "Classify"
    return f"{api} {request.model_spec.signature_name or contract.PREDICT_SIGNATURE} ({what})"


def run_canary(export_dir: str, *, model_name: str = layout.DEFAULT_MODEL_NAME, timeout_s: float = DEFAULT_TIMEOUT_S,
               sample_examples: Sequence[bytes] = (), atol: float = DEFAULT_ATOL,
               server_command: Optional[Sequence[str]] = None) -> CanaryReport:
    """Serves `export_dir` in a separate process and checks its answers (see the module docstring).

    `sample_examples`: serialized raw tf.Examples (as ExampleGen writes them) to send besides the warmup
    requests. `server_command`: the server's argv before the serve flags (default `albert-tfx serve`).
    Returns a `CanaryReport`; raises `CanaryFailure` (a one-line reason) when the candidate must not be pushed.
    """
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise ValueError(f"the canary timeout must be a positive number of seconds, got {timeout_s!r}")
    started = time.monotonic()
    deadline = _Deadline(float(timeout_s))
    layout.check_model_name(model_name)
    root = tempfile.mkdtemp(prefix="albert-tfx-canary-")
    server = None
    try:
        base_path = os.path.join(root, model_name)
        try:  # the export may be remote (gs://); the server reads a local copy holding only the candidate
            storage.copy_tree(export_dir, os.path.join(base_path, str(CANDIDATE_VERSION)),
                              written_last=(contract.SAVED_MODEL_FILE,))
        except Exception as error:
            raise CanaryFailure(f"cannot copy the candidate for the server: {_error_text(error)}") from None
        server = _Server(server_command or default_server_command(), base_path, model_name,
                         os.path.join(root, "server.log"))
        candidate = os.path.join(base_path, str(CANDIDATE_VERSION))
        model = _load_in_process(candidate)  # while the server process starts
        _wait_until_available(server, model_name, deadline)
        logs = _requests(candidate, model_name, sample_examples)
        return _check_answers(server, model, logs, model_name, deadline, atol, started)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _load_in_process(export_dir: str):
    """The reference: the candidate as `tf.saved_model.load` gives it in this process."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SentencePiece ops, before loading)

    try:
        return tf.saved_model.load(export_dir, tags=[contract.SERVE_TAG])
    except Exception as error:
        raise CanaryFailure(f"the candidate does not load in-process: {_error_text(error)}") from None


def _requests(export_dir: str, model_name: str, sample_examples: Sequence[bytes]):
    """(what, PredictionLog) for every request to send: the warmup requests, then the samples'."""
    import tensorflow as tf

    from serving import warmup

    try:
        metadata = contract.read_metadata(export_dir)
    except (OSError, ValueError, TypeError) as error:
        raise CanaryFailure(f"the candidate has no readable metadata: {_error_text(error)}") from None
    if tf.io.gfile.exists(contract.warmup_path(export_dir)):
        try:
            warmup_logs = warmup.read_warmup_requests(export_dir)
        except Exception as error:  # corrupt (the server loaded it, so only a reader of ours could disagree)
            raise CanaryFailure(f"the candidate's warmup requests cannot be read: {_error_text(error)}") from None
    else:  # what TF Serving would not replay; the requests serving/warmup.py writes stand in
        warmup_logs = warmup.build_warmup_requests(metadata, model_name=model_name)
    try:
        samples = sample_requests(metadata, sample_examples, model_name)
    except Exception as error:  # not serialized tf.Examples
        raise CanaryFailure(f"the sample examples cannot be sent: {_error_text(error)}") from None
    logs = [(f"warmup request {i + 1} of {len(warmup_logs)}", log) for i, log in enumerate(warmup_logs)]
    return logs + [(f"{len(sample_examples)} sample examples", log) for log in samples]


def _check_answers(server: _Server, model, logs, model_name: str, deadline: _Deadline, atol: float,
                   started: float) -> CanaryReport:
    import grpc
    import tensorflow as tf

    from serving import client as client_lib
    from serving import warmup

    channel = grpc.insecure_channel(server.target)
    largest = 0.0
    try:
        for what, log in logs:
            description = _describe(log, what)
            kind = log.WhichOneof("log_type")
            request = type(getattr(log, kind).request)()
            request.CopyFrom(getattr(log, kind).request)
            request.model_spec.name = model_name  # warmup records may carry another name; the server needs ours
            request.model_spec.ClearField("version_choice")
            signature, inputs = warmup.request_inputs(log)
            try:
                outputs = model.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
            except Exception as error:
                raise CanaryFailure(f"{description}: the in-process model fails: {_error_text(error)}") from None
            reference = {k: v.numpy() for k, v in outputs.items()}
            # Each call gets what is left of the canary's time as its deadline, and no retries.
            left = deadline.remaining(f"sending {description}")
            client = client_lib.ServingClient(client_lib.ClientConfig(server.target, model_name, deadline_s=left,
                                                                      retries=0), channel=channel)
            try:
                response = client.call_predict(request) if kind == "predict_log" else client.call_classify(request)
            except client_lib.ServingError as error:
                deadline.remaining(f"sending {description}")  # a call cut short by the canary's deadline is a timeout
                raise CanaryFailure(f"{description}: the server answered {error.code.name}: {error.details}") from None
            served = _served_outputs(log, response)
            check_qa_answers(description, log, served)
            largest = max(largest, compare_outputs(description, reference, served, atol))
    finally:
        channel.close()
    return CanaryReport(requests=len(logs), max_abs_difference=largest, seconds=time.monotonic() - started,
                        server_pid=server.process.pid)
