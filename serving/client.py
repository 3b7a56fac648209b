"""gRPC client for a served albert-tfx model: TF Serving (production) or `albert-tfx serve` (development).

It speaks TF Serving's gRPC API with the `tensorflow-serving-api` protos: Predict (raw texts into the contract's
`serving_default` signature), answers (Predict with questions and contexts into a QA export's `qa`
signature), Classify (tf.Examples into the `classify` signature), GetModelStatus and GetModelMetadata. Tensors
are converted with TensorFlow's own `tf.make_tensor_proto` / `tf.make_ndarray`.

- Batches: a list of texts is sent in requests of at most `batch_size` rows (servers bound a request's size)
  and the answers are joined in order.
- Deadlines: `deadline_s` bounds each request, retries included.
- Retries: UNAVAILABLE (server not up yet, restarting, or a full batching queue) is retried with exponential
  backoff and jitter, at most `retries` times and while the deadline leaves time for another attempt; every
  other error is final (retrying a bad request cannot help). Each retry goes out on a fresh channel: a reused
  channel keeps its own reconnect backoff after failed connects and answers "failed to connect" for seconds
  after the server is back. The defaults (serving/deploy) ride out a 10-second server restart.
- TLS (`tls`, `ca_cert`), a bearer token (`auth_token`, for `albert-tfx serve --auth-token-file` or a gateway)
  and per-call metadata (`metadata`).
- Errors: `ServingError` names the call, the server, the gRPC status code, the server's message and, when it
  stopped retrying, whether the deadline or the retry count ran out (`exhausted`).

Classify needs the raw feature names the model was trained on (the export's `text_features`, e.g. `sentence`):
tf.Examples carry named features, and a feature the model does not know is silently read as empty text, so
the caller must name them.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2, input_pb2,
                                     model_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from serving import contract, layout
from serving.deploy import (CLIENT_BACKOFF_S, CLIENT_DEADLINE_S, CLIENT_MAX_BACKOFF_S, CLIENT_MIN_JITTER,
                            CLIENT_RETRIES)

logger = logging.getLogger(__name__)

# GetModelMetadata's only metadata field (tensorflow_serving kSignatureDef): a SignatureDefMap packed in an Any.
SIGNATURE_DEF_FIELD = "signature_def"
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# gRPC metadata keys: lower-case letters, digits, '-', '_', '.'; "grpc-" is reserved for gRPC itself.
_METADATA_KEY = re.compile(r"^[0-9a-z_.\-]+$")
# The bearer token's metadata key and scheme (RFC 6750), as gateways and `albert-tfx serve --auth-token-file` read it.
AUTHORIZATION_KEY = "authorization"
BEARER_PREFIX = "Bearer "
# A token is one word of visible ASCII: it travels in a header.
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
# The least time worth one more attempt: a refused connection is answered in milliseconds.
_MIN_ATTEMPT_S = 0.05
# `ServingError.exhausted`: what ended the retrying.
DEADLINE_EXHAUSTED = "deadline"
RETRIES_EXHAUSTED = "retries"


class ServingError(RuntimeError):
    """A call failed: which call, on which server, the gRPC status code, the server's message, and `gave_up` (why
    the client stopped retrying: the deadline or the retry count ran out) with `exhausted` naming which."""

    def __init__(self, method: str, target: str, code: grpc.StatusCode, details: str, attempts: int = 1,
                 exhausted: Optional[str] = None, gave_up: str = ""):
        self.method, self.target, self.code, self.details, self.attempts = method, target, code, details, attempts
        self.exhausted, self.gave_up = exhausted, gave_up
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        reason = f" (gave up: {gave_up})" if gave_up else ""
        super().__init__(f"{method} on {target} failed{tries}: {code.name}: {details}{reason}")


def check_token(token: str, where: str) -> str:
    """`token` if it can be a bearer token (one word of visible ASCII), else ValueError naming `where`."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise ValueError(f"{where}: a bearer token must be one word of visible ASCII characters (no spaces), "
                         f"got {'an empty one' if not token else 'another value'}")
    return token


def read_token_file(path: str) -> str:
    """The bearer token in the file `path` (local or remote), surrounding whitespace and newline removed."""
    try:
        with tf.io.gfile.GFile(path, "rb") as handle:
            raw = handle.read()
    except tf.errors.OpError as error:
        raise OSError(f"auth token file {path}: cannot read it: {error.message}") from None
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError(f"auth token file {path}: not ASCII text") from None
    return check_token(text, f"auth token file {path}")


def parse_metadata(pairs: Iterable[str]) -> Tuple[Tuple[str, str], ...]:
    """`["key=value", ...]` -> gRPC metadata pairs; keys are lower-cased (gRPC requires it)."""
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"metadata must be KEY=VALUE, got {pair!r}")
        parsed.append((key.strip().lower(), value))
    return tuple(parsed)


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """Where the server is, which model to ask, and how to call it."""

    target: str  # HOST:PORT
    model_name: str = layout.DEFAULT_MODEL_NAME
    version: Optional[int] = None
    version_label: Optional[str] = None
    deadline_s: float = CLIENT_DEADLINE_S
    retries: int = CLIENT_RETRIES
    backoff_s: float = CLIENT_BACKOFF_S
    max_backoff_s: float = CLIENT_MAX_BACKOFF_S
    batch_size: int = 64
    tls: bool = False
    ca_cert: Optional[str] = None  # PEM file; default: the system's roots
    metadata: Tuple[Tuple[str, str], ...] = ()
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    auth_token: Optional[str] = dataclasses.field(default=None, repr=False)  # sent as `authorization: Bearer ...`

    def __post_init__(self):
        host, sep, port = self.target.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"server must be HOST:PORT, got {self.target!r}")
        if not self.model_name:
            raise ValueError("model name is empty")
        if self.version is not None and self.version_label is not None:
            raise ValueError("ask for a version or a version label, not both")
        if self.version is not None and self.version < 0:
            raise ValueError(f"version must be >= 0, got {self.version}")
        if not self.deadline_s > 0:
            raise ValueError(f"deadline must be > 0 seconds, got {self.deadline_s}")
        if self.retries < 0 or self.backoff_s < 0 or self.max_backoff_s < self.backoff_s:
            raise ValueError(f"retries ({self.retries}) and backoff ({self.backoff_s} s) must be >= 0, and "
                             f"max_backoff_s ({self.max_backoff_s}) >= backoff_s")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        if self.ca_cert is not None and not self.tls:
            raise ValueError("a CA certificate is for TLS: add tls=True (--tls)")
        for key, value in self.metadata:
            if not _METADATA_KEY.match(key) or key.startswith("grpc-"):
                raise ValueError(f"metadata key {key!r}: use lower-case letters, digits, '-', '_', '.', "
                                 f"not starting with 'grpc-'")
            if not isinstance(value, bytes) and not key.endswith("-bin") and not value.isascii():
                raise ValueError(f"metadata {key!r}: a text value must be ASCII (binary keys end in '-bin')")
        if self.auth_token is not None:
            check_token(self.auth_token, "auth_token")
            if any(key == AUTHORIZATION_KEY for key, _ in self.metadata):
                raise ValueError(f"an auth token and '{AUTHORIZATION_KEY}' metadata both set the authorization: "
                                 f"give one")

    def call_metadata(self) -> Tuple[Tuple[str, str], ...]:
        """The metadata sent with every call: `metadata`, and the bearer token when there is one."""
        if self.auth_token is None:
            return self.metadata
        return self.metadata + ((AUTHORIZATION_KEY, BEARER_PREFIX + self.auth_token),)


@dataclasses.dataclass(frozen=True)
class PredictResult:
    """Predict's outputs (batch-major numpy arrays, requests joined in order) and who answered."""

    model_name: str
    versions: Tuple[int, ...]  # per request; more than one request when the texts were split
    signature: str
    outputs: Dict[str, np.ndarray]

    @property
    def version(self) -> Optional[int]:
        """The version that answered, or None when a hot swap happened between the requests."""
        return self.versions[0] if len(set(self.versions)) == 1 else None

    def rows(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """One JSON-ready dict per text: label, label_id and probabilities (in label-id order)."""
        rows = []
        for i, row in enumerate(_input_rows(texts, text_pairs)):
            if contract.LABEL_OUTPUT in self.outputs:
                row["label"] = _text(self.outputs[contract.LABEL_OUTPUT][i])
            if contract.LABEL_ID_OUTPUT in self.outputs:
                row["label_id"] = int(self.outputs[contract.LABEL_ID_OUTPUT][i])
            if contract.PROBABILITIES_OUTPUT in self.outputs:
                row["probabilities"] = [round(float(p), 6) for p in self.outputs[contract.PROBABILITIES_OUTPUT][i]]
            rows.append(row)
        return rows


def _input_rows(texts: Sequence[str], text_pairs: Optional[Sequence[str]]) -> List[Dict[str, Any]]:
    """The start of each JSON row: the text (and its pair) it answers."""
    return [{"text": text} if text_pairs is None else {"text": text, "text_pair": text_pairs[i]}
            for i, text in enumerate(texts)]


@dataclasses.dataclass(frozen=True)
class ClassifyResult:
    """Classify's answer: per example, (label, score) for every class in label-id order."""

    model_name: str
    versions: Tuple[int, ...]
    signature: str
    classes: List[List[Tuple[str, float]]]

    @property
    def version(self) -> Optional[int]:
        return self.versions[0] if len(set(self.versions)) == 1 else None

    def rows(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        rows = []
        for i, row in enumerate(_input_rows(texts, text_pairs)):
            best = max(range(len(self.classes[i])), key=lambda j: self.classes[i][j][1])
            row["label"], row["label_id"] = self.classes[i][best][0], best
            row["scores"] = {label: round(score, 6) for label, score in self.classes[i]}
            rows.append(row)
        return rows


@dataclasses.dataclass(frozen=True)
class Answer:
    """The `qa` signature's answer to one question: `text` is `context[start_char:end_char]` (code points), or ""
    with offsets -1 when there is none; `no_answer_score` only from a SQuAD v2.0 model."""

    text: str
    score: float
    start_char: int
    end_char: int
    no_answer_score: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        row = {"answer": self.text, "score": round(self.score, 6), "start_char": self.start_char,
               "end_char": self.end_char}
        if self.no_answer_score is not None:
            row["no_answer_score"] = round(self.no_answer_score, 6)
        return row


@dataclasses.dataclass(frozen=True)
class AnswerResult:
    """Predict on `qa`: one `Answer` per question, in order, and who answered."""

    model_name: str
    versions: Tuple[int, ...]  # per request; more than one request when the questions were split
    signature: str
    answers: List[Answer]

    @property
    def version(self) -> Optional[int]:
        return self.versions[0] if len(set(self.versions)) == 1 else None

    def rows(self, questions: Sequence[str]) -> List[Dict[str, Any]]:
        """One JSON-ready dict per question: the question, then the answer's fields (not the context: it is long)."""
        return [{"question": question, **answer.to_dict()} for question, answer in zip(questions, self.answers)]


def _answers(outputs: Dict[str, np.ndarray]) -> List[Answer]:
    missing = [key for key in contract.QA_OUTPUTS if key not in outputs]
    if missing:
        raise ValueError(f"the {contract.QA_SIGNATURE!r} answer lacks outputs {missing} (received {sorted(outputs)})")
    no_answer = outputs.get(contract.NO_ANSWER_SCORE)
    return [Answer(_text(outputs[contract.ANSWER_TEXT][i]), float(outputs[contract.SCORE][i]),
                   int(outputs[contract.START_CHAR][i]), int(outputs[contract.END_CHAR][i]),
                   None if no_answer is None else float(no_answer[i]))
            for i in range(len(outputs[contract.ANSWER_TEXT]))]


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """One entry of GetModelStatus."""

    version: int
    state: str  # START, LOADING, AVAILABLE, UNLOADING, END
    error_code: int = 0  # tensorflow.error.Code; 0 = OK
    error_message: str = ""


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """GetModelMetadata's answer: the version that answered and its SignatureDefs."""

    model_name: str
    version: int
    signature_defs: Dict[str, Any]  # key -> tensorflow.SignatureDef

    def to_dict(self) -> Dict[str, Any]:
        def tensors(infos):
            return {key: {"dtype": tf.dtypes.as_dtype(info.dtype).name if info.dtype else None,  # init op: none
                          "shape": None if info.tensor_shape.unknown_rank
                          else [d.size for d in info.tensor_shape.dim]}
                    for key, info in sorted(infos.items())}

        return {"model": self.model_name, "version": self.version, "signatures": {
            key: {"method_name": sig.method_name, "inputs": tensors(sig.inputs), "outputs": tensors(sig.outputs)}
            for key, sig in sorted(self.signature_defs.items())}}


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _string_tensor(values: Sequence[str]):
    encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    return tf.make_tensor_proto(encoded, dtype=tf.string, shape=[len(encoded)])


def text_examples(texts: Sequence[str], text_pairs: Optional[Sequence[str]], text_features: Sequence[str]
                  ) -> List[tf.train.Example]:
    """tf.Examples with the texts (and pairs) under the model's raw feature names."""
    features = list(text_features)
    if len(features) != (2 if text_pairs is not None else 1):
        raise ValueError(f"{'two' if text_pairs is not None else 'one'} text feature name(s) needed "
                         f"for {'text pairs' if text_pairs is not None else 'single texts'}, got {features}")
    columns = [texts] if text_pairs is None else [texts, text_pairs]
    examples = []
    for values in zip(*columns):
        examples.append(tf.train.Example(features=tf.train.Features(feature={
            name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
            for name, value in zip(features, values)})))
    return examples


def _check_texts(texts: Sequence[str], text_pairs: Optional[Sequence[str]]) -> None:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of strings, not one string")
    if not texts:
        raise ValueError("no texts to send")
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(text_pairs)} text pairs: give one pair per text")


def _check_questions(questions: Sequence[str], contexts: Sequence[str]) -> None:
    if isinstance(questions, (str, bytes)) or isinstance(contexts, (str, bytes)):
        raise TypeError("questions and contexts must be lists of strings, not one string")
    if not questions:
        raise ValueError("no questions to send")
    if len(contexts) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts: give one context per question")


class _Connection:
    """One channel, its two stubs, and the calls in flight on it (a replaced channel is closed once idle)."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(channel)
        self.in_flight = 0
        self.replaced = False


class ServingClient:
    """Calls one model on one server. Use as a context manager, or call `close()`. Safe to share between threads.

    A `channel` given here is used as it is and never replaced (its owner decides how it reconnects); without one,
    the client opens its own and opens a fresh one after UNAVAILABLE.
    """

    def __init__(self, config: ClientConfig, channel: Optional[grpc.Channel] = None):
        self.config = config
        self._owns_channel = channel is None
        self._lock = threading.Lock()
        self._connection = _Connection(channel or self._open_channel())
        self._closed = False
        self._metadata = config.call_metadata() or None

    def _open_channel(self) -> grpc.Channel:
        options = [("grpc.max_receive_message_length", self.config.max_message_bytes),
                   ("grpc.max_send_message_length", self.config.max_message_bytes),
                   # Its own subchannels: gRPC otherwise shares them between channels to the same server, and a
                   # fresh channel would inherit the old one's reconnect backoff.
                   ("grpc.use_local_subchannel_pool", 1),
                   # The channel's own reconnect backoff no longer than ours, for calls that share it meanwhile.
                   ("grpc.initial_reconnect_backoff_ms", max(1, int(1000 * self.config.backoff_s))),
                   ("grpc.max_reconnect_backoff_ms", max(1, int(1000 * self.config.max_backoff_s)))]
        if not self.config.tls:
            return grpc.insecure_channel(self.config.target, options=options)
        roots = None
        if self.config.ca_cert:
            with open(self.config.ca_cert, "rb") as handle:
                roots = handle.read()
        return grpc.secure_channel(self.config.target, grpc.ssl_channel_credentials(root_certificates=roots), options)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channel = self._connection.channel
        channel.close()

    def _acquire(self) -> _Connection:
        with self._lock:
            connection = self._connection
            connection.in_flight += 1
            return connection

    def _release(self, connection: _Connection) -> None:
        with self._lock:
            connection.in_flight -= 1
            idle_and_replaced = connection.replaced and connection.in_flight == 0
        if idle_and_replaced:
            connection.channel.close()

    def _reconnect(self, failed: _Connection) -> None:
        """Replaces the channel `failed` went out on (once, however many calls failed on it) with a fresh one."""
        if not self._owns_channel:
            return
        with self._lock:
            if self._closed or self._connection is not failed:
                return
            self._connection = _Connection(self._open_channel())
            failed.replaced = True
            idle = failed.in_flight == 0
        if idle:  # calls still in flight on it may succeed; the last one to finish closes it
            failed.channel.close()

    def __enter__(self) -> "ServingClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests -------------------------------------------------------------------------------------

    def model_spec(self, signature: Optional[str] = None) -> model_pb2.ModelSpec:
        spec = model_pb2.ModelSpec(name=self.config.model_name)
        if self.config.version is not None:
            spec.version.value = self.config.version
        elif self.config.version_label is not None:
            spec.version_label = self.config.version_label
        if signature is not None:
            spec.signature_name = signature
        return spec

    def predict_request(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, *,
                        signature: str = contract.PREDICT_SIGNATURE, output_filter: Sequence[str] = ()
                        ) -> predict_pb2.PredictRequest:
        """A PredictRequest of raw texts for the contract's `serving_default` signature."""
        _check_texts(texts, text_pairs)
        request = predict_pb2.PredictRequest(model_spec=self.model_spec(signature), output_filter=list(output_filter))
        request.inputs[contract.TEXT_INPUT].CopyFrom(_string_tensor(texts))
        if text_pairs is not None:
            request.inputs[contract.TEXT_PAIR_INPUT].CopyFrom(_string_tensor(text_pairs))
        return request

    def answer_request(self, questions: Sequence[str], contexts: Sequence[str], *,
                       signature: str = contract.QA_SIGNATURE) -> predict_pb2.PredictRequest:
        """A PredictRequest of raw questions and contexts for a QA export's `qa` signature."""
        _check_questions(questions, contexts)
        request = predict_pb2.PredictRequest(model_spec=self.model_spec(signature))
        request.inputs[contract.QUESTION].CopyFrom(_string_tensor(questions))
        request.inputs[contract.CONTEXT].CopyFrom(_string_tensor(contexts))
        return request

    def classify_request(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, *,
                         text_features: Sequence[str], signature: str = contract.CLASSIFY_SIGNATURE
                         ) -> classification_pb2.ClassificationRequest:
        """A ClassificationRequest of tf.Examples (the model's raw feature names) for the `classify` signature."""
        _check_texts(texts, text_pairs)
        examples = text_examples(texts, text_pairs, text_features)
        return classification_pb2.ClassificationRequest(
            model_spec=self.model_spec(signature),
            input=input_pb2.Input(example_list=input_pb2.ExampleList(examples=examples)))

    # --- calls ----------------------------------------------------------------------------------------

    def predict(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, *,
                signature: str = contract.PREDICT_SIGNATURE, output_filter: Sequence[str] = ()) -> PredictResult:
        """Predict on `texts` (and `text_pairs` for a sentence-pair model), in requests of `batch_size`."""
        _check_texts(texts, text_pairs)
        responses = [self.call_predict(self.predict_request(texts[i:j], None if text_pairs is None else text_pairs[i:j],
                                                            signature=signature, output_filter=output_filter))
                     for i, j in self._chunks(len(texts))]
        outputs = {key: np.concatenate([tf.make_ndarray(r.outputs[key]) for r in responses])
                   for key in responses[0].outputs}
        return PredictResult(responses[0].model_spec.name, tuple(r.model_spec.version.value for r in responses),
                             responses[0].model_spec.signature_name, outputs)

    def answer(self, questions: Sequence[str], contexts: Sequence[str], *,
               signature: str = contract.QA_SIGNATURE) -> AnswerResult:
        """Predict on a QA export's `qa` signature: the answer to each question in its context (`contexts[i]` for
        `questions[i]`), in requests of `batch_size`, with `predict`'s deadline and retries."""
        _check_questions(questions, contexts)
        responses = [self.call_predict(self.answer_request(questions[i:j], contexts[i:j], signature=signature))
                     for i, j in self._chunks(len(questions))]
        answers = [a for r in responses for a in _answers({k: tf.make_ndarray(v) for k, v in r.outputs.items()})]
        return AnswerResult(responses[0].model_spec.name, tuple(r.model_spec.version.value for r in responses),
                            responses[0].model_spec.signature_name, answers)

    def classify(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, *,
                 text_features: Sequence[str], signature: str = contract.CLASSIFY_SIGNATURE) -> ClassifyResult:
        """Classify `texts` sent as tf.Examples whose features are named `text_features`."""
        _check_texts(texts, text_pairs)
        responses = [self.call_classify(self.classify_request(
            texts[i:j], None if text_pairs is None else text_pairs[i:j], text_features=text_features,
            signature=signature)) for i, j in self._chunks(len(texts))]
        classes = [[(_text(c.label), float(c.score)) for c in item.classes]
                   for r in responses for item in r.result.classifications]
        return ClassifyResult(responses[0].model_spec.name, tuple(r.model_spec.version.value for r in responses),
                              responses[0].model_spec.signature_name, classes)

    def call_predict(self, request: predict_pb2.PredictRequest) -> predict_pb2.PredictResponse:
        """One Predict call of a ready-made request (deadline and retries applied)."""
        return self._call("Predict", "predictions", request)

    def call_classify(self, request: classification_pb2.ClassificationRequest
                      ) -> classification_pb2.ClassificationResponse:
        return self._call("Classify", "predictions", request)

    def model_status(self, version: Optional[int] = None) -> List[VersionStatus]:
        """GetModelStatus: every version the server knows of this model (or just `version`), newest first."""
        spec = model_pb2.ModelSpec(name=self.config.model_name)
        if version is not None:
            spec.version.value = version
        response = self._call("GetModelStatus", "models",
                              get_model_status_pb2.GetModelStatusRequest(model_spec=spec))
        return [VersionStatus(s.version, get_model_status_pb2.ModelVersionStatus.State.Name(s.state),
                              int(s.status.error_code), s.status.error_message)
                for s in response.model_version_status]

    def model_metadata(self) -> ModelMetadata:
        """GetModelMetadata: the SignatureDefs of the version the config asks for (default: the newest)."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=self.model_spec(),
                                                                 metadata_field=[SIGNATURE_DEF_FIELD])
        response = self._call("GetModelMetadata", "predictions", request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        if not response.metadata[SIGNATURE_DEF_FIELD].Unpack(signature_map):
            raise ServingError("GetModelMetadata", self.config.target, grpc.StatusCode.INTERNAL,
                               f"metadata[{SIGNATURE_DEF_FIELD!r}] is not a SignatureDefMap")
        return ModelMetadata(response.model_spec.name, response.model_spec.version.value,
                             dict(signature_map.signature_def))

    def wait_until_available(self, timeout_s: float = 60.0, poll_s: float = 0.2) -> int:
        """Waits until some version of the model is AVAILABLE (the server may still be starting); returns it."""
        give_up = time.monotonic() + timeout_s
        last = "no answer yet"
        while True:
            try:
                available = [s.version for s in self.model_status() if s.state == "AVAILABLE"]
                if available:
                    return max(available)
                last = "no version AVAILABLE yet"
            except ServingError as error:
                if error.code not in RETRYABLE_CODES | {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.DEADLINE_EXCEEDED}:
                    raise
                last = str(error)
            if time.monotonic() + poll_s > give_up:
                raise TimeoutError(f"model {self.config.model_name!r} on {self.config.target} not available after "
                                   f"{timeout_s:.0f} s: {last}")
            time.sleep(poll_s)

    # --- internals ------------------------------------------------------------------------------------

    def _chunks(self, count: int):
        size = self.config.batch_size
        return [(start, min(start + size, count)) for start in range(0, count, size)]

    def _call(self, method: str, service: str, request):
        """Calls `method` of `service` ("predictions" or "models") with the deadline and the metadata, retrying
        UNAVAILABLE on a fresh channel after a jittered exponential backoff."""
        config = self.config
        deadline = time.monotonic() + config.deadline_s
        attempt = 0
        while True:
            attempt += 1
            connection = self._acquire()
            try:
                return getattr(getattr(connection, service), method)(
                    request, timeout=max(0.0, deadline - time.monotonic()), metadata=self._metadata)
            except grpc.RpcError as error:
                code, details = error.code(), error.details() or ""
            finally:
                self._release(connection)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise self._gave_up(method, code, details, attempt, DEADLINE_EXHAUSTED)
            if code not in RETRYABLE_CODES:
                raise ServingError(method, config.target, code, details, attempt)
            if attempt > config.retries:
                raise self._gave_up(method, code, details, attempt, RETRIES_EXHAUSTED)
            left = deadline - time.monotonic() - _MIN_ATTEMPT_S
            if left <= 0:
                raise self._gave_up(method, code, details, attempt, DEADLINE_EXHAUSTED)
            retry_in = min(config.max_backoff_s, config.backoff_s * 2 ** (attempt - 1))
            retry_in *= random.uniform(CLIENT_MIN_JITTER, 1.0)  # jitter: clients that failed together retry apart
            retry_in = min(retry_in, left)  # a last attempt just before the deadline rather than none
            self._reconnect(connection)
            logger.warning("%s on %s: %s (%s); retry %d of %d in %.2f s", method, config.target, code.name, details,
                           attempt, config.retries, retry_in)
            time.sleep(retry_in)

    def _gave_up(self, method: str, code: grpc.StatusCode, details: str, attempts: int, exhausted: str
                 ) -> ServingError:
        retries = self.config.retries
        if exhausted == RETRIES_EXHAUSTED:
            why = f"all {retries} retries used within the {self.config.deadline_s:g} s deadline"
        else:
            why = (f"the {self.config.deadline_s:g} s deadline ran out with {retries - (attempts - 1)} of {retries} "
                   f"retries left")
        return ServingError(method, self.config.target, code, details, attempts, exhausted, why)


def predictions_json(result, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """What `albert-tfx predict` prints: who answered, then one row per text."""
    return {"model": result.model_name, "version": result.version, "versions": sorted(set(result.versions)),
            "signature": result.signature, "predictions": result.rows(texts, text_pairs)}


def status_json(model_name: str, statuses: Sequence[VersionStatus]) -> Dict[str, Any]:
    return {"model": model_name, "versions": [dataclasses.asdict(s) for s in statuses]}


def metadata_json(metadata: ModelMetadata) -> Dict[str, Any]:
    return metadata.to_dict()
