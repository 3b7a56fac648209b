"""The serving contract: what an exported albert-tfx classifier looks like from the outside. Defined once.

`serving/export.py` builds SavedModels to this contract; the gRPC client, the local server, the pipeline's
Evaluator config and the tests import these names instead of spelling them out.

Signatures (all with a dynamic batch dimension; tokenization runs inside the graph):

| signature key       | method name                   | inputs                                  | outputs |
|---------------------|-------------------------------|-----------------------------------------|---------|
| `serving_default`   | `tensorflow/serving/predict`  | `text` string [batch] (+ `text_pair`)   | `probabilities` float32 [batch, classes], `label_id` int64 [batch], `label` string [batch] |
| `serving_examples`  | `tensorflow/serving/predict`  | `examples` string [batch]: serialized tf.Example with the raw text features | same as `serving_default` |
| `classify`          | `tensorflow/serving/classify` | `inputs` string [batch]: serialized tf.Example | `scores` float32 [batch, classes], `classes` string [batch, classes] |
| `transformed_features` | `tensorflow/serving/predict` | `examples` string [batch]: serialized tf.Example with the text and the label | the Transform's outputs: `token_ids`, `segment_ids`, `padding_mask` int64 [batch, max_seq_length], `label_ids` int64 [batch] |
| `qa` (question answering exports only) | `tensorflow/serving/predict` | `question`, `context` string [batch] | `answer_text` string [batch], `score` float32 [batch], `start_char`, `end_char` int64 [batch] (+ `no_answer_score` float32 [batch]) |

- `text_pair` exists exactly when the model was trained on sentence pairs (two text features); a
  single-text model has only `text`. Inputs map, in order, onto the Transform's text features.
- `classify` follows TF Serving's Classify API (tensorflow_serving/apis/classification.proto): input key
  `inputs`, output keys `classes` and `scores`; row i of `classes` is every label name in label-id order,
  so `scores[i, j]` is the probability of `classes[i, j]`.
- `serving_examples` is the signature the Evaluator (TFMA) uses, with prediction key `probabilities`.
  tf.Examples name the features as the training data did (the Transform's raw feature names, recorded in
  the metadata as `text_features`); a missing text feature reads as empty text.
- `transformed_features` is the Transform applied to labelled tf.Examples. TFMA calls a signature of this
  name by default (its TransformedFeaturesExtractor), so an EvalConfig can use `label_key: "label_ids"`:
  the label ids the model was trained on (TFT orders the label vocabulary by frequency, so raw labels such
  as 0/1 need not equal their ids). Not for serving clients.
- `qa` is the one signature of a question-answering export (`serving/qa_export.py`; metadata `task` "qa"),
  which has none of the classifier's: the context is cut into the training windows, the model scores every
  window and the best span over all of them (start + end logit: `score`) is the answer. `answer_text` is
  always `context[start_char:end_char]`, offsets in code points of the context as sent (after invalid UTF-8
  is replaced by U+FFFD). No span (an empty context, say): `answer_text` "", `start_char` = `end_char` = -1,
  `score` = `NO_SPAN_SCORE`. `no_answer_score` exists exactly for SQuAD v2.0 models (`with_no_answer`): the
  lowest [CLS] score of the question's windows; the answer is withheld ("", -1, -1; `score` stays the best
  span's) when it exceeds `score` + the export's no-answer threshold (metadata `qa_settings`).
- Long documents (a Transform with long_text "windows"; metadata `long_text`): each row of every classifier
  signature is still one document. The graph cuts it into windows, scores each and pools their logits (mean
  or max, `long_text`'s window_pooling) into the document's `probabilities`/`scores`; `transformed_features`
  then gives the windows, `token_ids`, `segment_ids`, `padding_mask` int64 [batch, windows, max_seq_length],
  with the document's one `label_ids` [batch].
- Label names come from the Transform's label vocabulary (`text_contract.features.LABEL_VOCABULARY`):
  `label_id` indexes them.

Files: `assets.extra/albert_tfx_metadata.json` (see `ExportMetadata`; TF Serving does not load
`assets.extra/`, it is for tools), and `assets.extra/tf_serving_warmup_requests` (PredictionLog TFRecord,
read by TF Serving at load time) once warmup requests are written.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Tuple

from text_contract import features

# Bumped when a signature, key, dtype or the metadata layout changes incompatibly.
CONTRACT_VERSION = 1

SERVE_TAG = "serve"

# Signature keys.
PREDICT_SIGNATURE = "serving_default"
EXAMPLES_SIGNATURE = "serving_examples"
CLASSIFY_SIGNATURE = "classify"
TRANSFORM_SIGNATURE = "transformed_features"  # TFMA's default preprocessing function name
SIGNATURES = (PREDICT_SIGNATURE, EXAMPLES_SIGNATURE, CLASSIFY_SIGNATURE, TRANSFORM_SIGNATURE)
# The question-answering export's signature (a QA export has only this one; see the module docstring).
QA_SIGNATURE = "qa"

# SignatureDef method names (tensorflow_serving: kPredictMethodName, kClassifyMethodName).
PREDICT_METHOD_NAME = "tensorflow/serving/predict"
CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
METHOD_NAMES = {
    PREDICT_SIGNATURE: PREDICT_METHOD_NAME,
    EXAMPLES_SIGNATURE: PREDICT_METHOD_NAME,
    CLASSIFY_SIGNATURE: CLASSIFY_METHOD_NAME,
    TRANSFORM_SIGNATURE: PREDICT_METHOD_NAME,
    QA_SIGNATURE: PREDICT_METHOD_NAME,
}

# Input keys.
TEXT_INPUT = "text"
TEXT_PAIR_INPUT = "text_pair"
TEXT_INPUTS = (TEXT_INPUT, TEXT_PAIR_INPUT)
EXAMPLES_INPUT = "examples"
CLASSIFY_INPUT = "inputs"  # tensorflow_serving kClassifyInputs

# Output keys of serving_default and serving_examples.
PROBABILITIES_OUTPUT = "probabilities"
LABEL_ID_OUTPUT = "label_id"
LABEL_OUTPUT = "label"
PREDICT_OUTPUTS = (PROBABILITIES_OUTPUT, LABEL_ID_OUTPUT, LABEL_OUTPUT)
# Output keys of classify (tensorflow_serving kClassifyOutputScores, kClassifyOutputClasses).
SCORES_OUTPUT = "scores"
CLASSES_OUTPUT = "classes"
CLASSIFY_OUTPUTS = (SCORES_OUTPUT, CLASSES_OUTPUT)
# Output keys of transformed_features: the Transform's outputs.
TRANSFORM_OUTPUTS = features.TRANSFORMED_FEATURES
# Input keys of qa: the QA ExampleGen's raw feature names, so a tf.Example of the training data reads as a request.
QUESTION = features.QA_QUESTION
CONTEXT = features.QA_CONTEXT
QA_INPUTS = (QUESTION, CONTEXT)
# Output keys of qa.
ANSWER_TEXT = "answer_text"
SCORE = "score"
START_CHAR = "start_char"
END_CHAR = "end_char"
NO_ANSWER_SCORE = "no_answer_score"  # SQuAD v2.0 models only
QA_OUTPUTS = (ANSWER_TEXT, SCORE, START_CHAR, END_CHAR)
# `score` when no span qualifies (and the char offsets then). Finite, because TF Serving's REST API writes
# JSON, which has no -inf; far below any real span score (two logits; padding logits alone are -10000).
NO_SPAN_SCORE = -1.0e9
NO_ANSWER_CHAR = -1

# ExportMetadata.task: what the export does (decides its signatures).
TASK_CLASSIFY = "classify"
TASK_QA = "qa"

# Files inside an export directory.
ASSETS_EXTRA_DIR = "assets.extra"
METADATA_FILE = "albert_tfx_metadata.json"
WARMUP_FILE = "tf_serving_warmup_requests"
# The SentencePiece model the Transform embedded, kept beside the metadata (retraining reuses it).
VOCABULARY_FILE = "spm.model"
SAVED_MODEL_FILE = "saved_model.pb"


def text_input_keys(num_texts: int) -> Tuple[str, ...]:
    """`("text",)` for a single-text model, `("text", "text_pair")` for a sentence-pair model."""
    if num_texts not in (1, 2):
        raise ValueError(f"a model reads one text or a pair of texts, not {num_texts}")
    return TEXT_INPUTS[:num_texts]


def default_signature(task: str) -> str:
    """The signature a Predict request that names none gets: a classifier's `serving_default`, a QA export's `qa`
    (its only one, so a request need not repeat it)."""
    if task == TASK_QA:
        return QA_SIGNATURE
    if task != TASK_CLASSIFY:
        raise ValueError(f"task {task!r}; the contract has {TASK_CLASSIFY!r} and {TASK_QA!r}")
    return PREDICT_SIGNATURE


def signature_inputs(signature: str, num_texts: int) -> Tuple[str, ...]:
    """The input keys of `signature` for a model with `num_texts` text features."""
    if signature == PREDICT_SIGNATURE:
        return text_input_keys(num_texts)
    if signature in (EXAMPLES_SIGNATURE, TRANSFORM_SIGNATURE):
        return (EXAMPLES_INPUT,)
    if signature == CLASSIFY_SIGNATURE:
        return (CLASSIFY_INPUT,)
    raise ValueError(f"unknown signature {signature!r}; the contract has {SIGNATURES}")


def signature_outputs(signature: str) -> Tuple[str, ...]:
    if signature in (PREDICT_SIGNATURE, EXAMPLES_SIGNATURE):
        return PREDICT_OUTPUTS
    if signature == CLASSIFY_SIGNATURE:
        return CLASSIFY_OUTPUTS
    if signature == TRANSFORM_SIGNATURE:
        return TRANSFORM_OUTPUTS
    raise ValueError(f"unknown signature {signature!r}; the contract has {SIGNATURES}")


def qa_signature_outputs(with_no_answer: bool) -> Tuple[str, ...]:
    """The output keys of `qa`: `no_answer_score` only for a SQuAD v2.0 model."""
    return QA_OUTPUTS + ((NO_ANSWER_SCORE,) if with_no_answer else ())


def metadata_path(export_dir: str) -> str:
    return os.path.join(export_dir, ASSETS_EXTRA_DIR, METADATA_FILE)


def vocabulary_path(export_dir: str) -> str:
    return os.path.join(export_dir, ASSETS_EXTRA_DIR, VOCABULARY_FILE)


def warmup_path(export_dir: str) -> str:
    return os.path.join(export_dir, ASSETS_EXTRA_DIR, WARMUP_FILE)


@dataclasses.dataclass(frozen=True)
class ExportMetadata:
    """`assets.extra/albert_tfx_metadata.json`: what a tool needs to know about an export without loading it.

    `text_features`: the raw feature names that `text` (and `text_pair`) stand for, and that tf.Examples
    sent to `serving_examples`/`classify` must use. `label_names[i]` is the name of label id i.
    `albert_config`: the encoder's `albert_config.json` fields. `vocabulary_sha256`: of the SentencePiece
    model bytes the Transform embedded, when the exporter was told where it is.
    `task`: `TASK_CLASSIFY` (the four classifier signatures) or `TASK_QA` (only `qa`; `label_names` is empty,
    `text_features` are the QA inputs, `qa_settings` the windowing and answer-search settings in the graph).
    Metadata written before `task` existed reads as a classifier's.
    `long_text`: {} for a classifier of one sequence per example (text past max_seq_length truncated); for
    document windows the Transform's `long_text`, `max_windows_per_document` and the export's `window_pooling`
    (text_contract.transform_options' keys; `max_seq_length` is then each window's).
    """

    model_name: str
    label_names: Tuple[str, ...]
    text_features: Tuple[str, ...]
    max_seq_length: int
    albert_config: Dict[str, Any]
    preset: Optional[str] = None
    vocabulary_sha256: Optional[str] = None
    vocabulary_size: Optional[int] = None
    contract_version: int = CONTRACT_VERSION
    signatures: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    created_at: Optional[str] = None
    versions: Dict[str, str] = dataclasses.field(default_factory=dict)
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)
    task: str = TASK_CLASSIFY
    qa_settings: Dict[str, Any] = dataclasses.field(default_factory=dict)
    long_text: Dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def input_keys(self) -> Tuple[str, ...]:
        if self.task == TASK_QA:
            return QA_INPUTS
        return text_input_keys(len(self.text_features))

    def to_dict(self) -> Dict[str, Any]:
        values = dataclasses.asdict(self)
        values["label_names"] = list(self.label_names)
        values["text_features"] = list(self.text_features)
        values["num_classes"] = self.num_classes
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "ExportMetadata":
        values = dict(values)
        values.pop("num_classes", None)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}  # newer writers may add fields
        values["label_names"] = tuple(values.get("label_names") or ())
        values["text_features"] = tuple(values.get("text_features") or ())
        return cls(**values)


def signature_table(num_texts: int) -> Dict[str, Dict[str, Any]]:
    """The signatures of a model with `num_texts` text features, as written into the metadata."""
    return {
        name: {
            "method_name": METHOD_NAMES[name],
            "inputs": list(signature_inputs(name, num_texts)),
            "outputs": list(signature_outputs(name)),
        }
        for name in SIGNATURES
    }


def qa_signature_table(with_no_answer: bool) -> Dict[str, Dict[str, Any]]:
    """The signatures of a question-answering export, as written into the metadata."""
    return {QA_SIGNATURE: {"method_name": METHOD_NAMES[QA_SIGNATURE], "inputs": list(QA_INPUTS),
                           "outputs": list(qa_signature_outputs(with_no_answer))}}


def read_metadata(export_dir: str) -> ExportMetadata:
    """The `ExportMetadata` of an export directory (a local path or anything tf.io.gfile reads)."""
    import tensorflow as tf

    path = metadata_path(export_dir)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{export_dir}: no {ASSETS_EXTRA_DIR}/{METADATA_FILE}; not an albert-tfx export")
    with tf.io.gfile.GFile(path, "r") as handle:
        return ExportMetadata.from_dict(json.load(handle))


def list_signature_defs(export_dir: str) -> Dict[str, Any]:
    """`{key: SignatureDef}` of the `serve` MetaGraph, read from saved_model.pb without loading the model."""
    from tensorflow.core.protobuf import saved_model_pb2
    import tensorflow as tf

    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(export_dir, SAVED_MODEL_FILE), "rb") as handle:
        proto.ParseFromString(handle.read())
    for meta_graph in proto.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{export_dir}: no MetaGraph tagged {SERVE_TAG!r}")


def missing_from_contract(signature_defs: Dict[str, Any], num_texts: int) -> List[str]:
    """What the SignatureDefs lack against the contract (empty when the export fulfils it)."""
    problems = []
    for name in SIGNATURES:
        if name not in signature_defs:
            problems.append(f"signature {name!r} is missing")
            continue
        signature = signature_defs[name]
        if signature.method_name != METHOD_NAMES[name]:
            problems.append(f"{name}: method_name {signature.method_name!r}, expected {METHOD_NAMES[name]!r}")
        for kind, expected, actual in (("inputs", signature_inputs(name, num_texts), signature.inputs),
                                       ("outputs", signature_outputs(name), signature.outputs)):
            if set(actual) != set(expected):
                problems.append(f"{name}: {kind} {sorted(actual)}, expected {sorted(expected)}")
    return problems


def missing_from_qa_contract(signature_defs: Dict[str, Any], with_no_answer: bool) -> List[str]:
    """What the SignatureDefs of a question-answering export lack against the contract (empty when none)."""
    if QA_SIGNATURE not in signature_defs:
        return [f"signature {QA_SIGNATURE!r} is missing (signatures: {sorted(signature_defs)})"]
    signature = signature_defs[QA_SIGNATURE]
    problems = []
    if signature.method_name != METHOD_NAMES[QA_SIGNATURE]:
        problems.append(f"{QA_SIGNATURE}: method_name {signature.method_name!r}, expected "
                        f"{METHOD_NAMES[QA_SIGNATURE]!r}")
    for kind, expected, actual in (("inputs", QA_INPUTS, signature.inputs),
                                   ("outputs", qa_signature_outputs(with_no_answer), signature.outputs)):
        if set(actual) != set(expected):
            problems.append(f"{QA_SIGNATURE}: {kind} {sorted(actual)}, expected {sorted(expected)}")
    return problems


def missing_for_export(signature_defs: Dict[str, Any], metadata: ExportMetadata) -> List[str]:
    """What the SignatureDefs lack against the contract of the export's `task` (its metadata says which)."""
    if metadata.task == TASK_QA:
        return missing_from_qa_contract(signature_defs, bool(metadata.qa_settings.get("with_no_answer")))
    if metadata.task != TASK_CLASSIFY:
        return [f"task {metadata.task!r}; the contract has {TASK_CLASSIFY!r} and {TASK_QA!r}"]
    return missing_from_contract(signature_defs, len(metadata.text_features))
