"""TF Serving warmup requests for an export: `assets.extra/tf_serving_warmup_requests`.

When TF Serving loads a version it replays the PredictionLog records of this TFRecord file through the model
before it marks the version AVAILABLE, so the first real requests do not pay for lazy start-up work (the
tf-text kernels parsing the SentencePiece model, graph optimization, per-batch-size allocations). A rolling
update whose readiness probe waits for AVAILABLE then never routes traffic to a cold model.

The requests use only the serving contract: `serving_default` (Predict API, raw text under the model's text
input keys: `text`, plus `text_pair` for a pair model) and `classify` (Classify API, tf.Examples that name
the text features as the metadata's `text_features` do), each at every size in `batch_sizes`. Among the texts
are an empty one and one longer than the model's `max_seq_length`, so truncation and padding run too.
A question-answering export (metadata `task` "qa") gets Predict requests to `qa` instead (questions and
contexts, an empty context and one longer than a window among them).

`export.export_classifier` writes the file into its staging directory before it publishes the export, so every
export carries it. TF Serving reads at most `MAX_WARMUP_RECORDS` records.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_log_pb2

from serving import contract, layout

DEFAULT_BATCH_SIZES = (1, 8)
# TF Serving reads at most this many (tensorflow_serving/servables/tensorflow/saved_model_warmup_util.h:
# WarmupConsts::kMaxNumRecords).
MAX_WARMUP_RECORDS = 1000

# Varied on purpose: ordinary text, empty text, non-ASCII text; `_texts` adds one longer than max_seq_length.
_SAMPLE_TEXTS = (
    "a charming and often affecting journey",
    "",
    "The plot was thin, but the music and the cast were lovely.",
    "unicode: naïve café, 文字, emoji 🙂",
)
_SAMPLE_PAIR_TEXTS = (
    "the film was quite good",
    "an unrelated second sentence",
    "",
    "Ça marche très bien.",
)


def _texts(samples: Sequence[str], batch_size: int, max_seq_length: int) -> List[str]:
    long_text = " ".join(["warmup"] * (2 * max_seq_length))  # more pieces than positions: truncated
    pool = list(samples) + [long_text]
    return [pool[i % len(pool)] for i in range(batch_size)]


def _string_tensor(values: Sequence[str]):
    return tf.make_tensor_proto([v.encode("utf-8") for v in values], dtype=tf.string, shape=[len(values)])


def _example(features: Dict[str, str]) -> tf.train.Example:
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
        for name, value in features.items()
    }))


def build_warmup_requests(
    metadata: contract.ExportMetadata,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    model_name: str = layout.DEFAULT_MODEL_NAME,
) -> List[prediction_log_pb2.PredictionLog]:
    """A Predict (`serving_default`) and a Classify (`classify`) PredictionLog per batch size (for a
    question-answering export, metadata `task` "qa": a Predict request to `qa` per batch size).

    `model_name` only fills `model_spec.name`; TF Serving runs warmup records against the version being
    loaded whatever name they carry, so an export stays valid under any served name.
    """
    batch_sizes = tuple(batch_sizes)
    if not batch_sizes or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in batch_sizes):
        raise ValueError(f"warmup batch sizes must be positive integers, got {batch_sizes}")
    if 2 * len(batch_sizes) > MAX_WARMUP_RECORDS:
        raise ValueError(f"{2 * len(batch_sizes)} warmup records; TF Serving reads at most {MAX_WARMUP_RECORDS}")
    if metadata.task == contract.TASK_QA:
        return _qa_warmup_requests(metadata, batch_sizes, model_name)
    input_keys = contract.text_input_keys(len(metadata.text_features))
    logs = []
    for batch_size in batch_sizes:
        columns = [_texts(samples, batch_size, metadata.max_seq_length)
                   for samples in (_SAMPLE_TEXTS, _SAMPLE_PAIR_TEXTS)[:len(input_keys)]]

        predict = predict_pb2.PredictRequest()
        predict.model_spec.name = model_name
        predict.model_spec.signature_name = contract.PREDICT_SIGNATURE
        for key, texts in zip(input_keys, columns):
            predict.inputs[key].CopyFrom(_string_tensor(texts))
        logs.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict)))

        classify = classification_pb2.ClassificationRequest()
        classify.model_spec.name = model_name
        classify.model_spec.signature_name = contract.CLASSIFY_SIGNATURE
        for row in zip(*columns):
            classify.input.example_list.examples.add().CopyFrom(_example(dict(zip(metadata.text_features, row))))
        logs.append(prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify)))
    return logs


def _qa_warmup_requests(metadata: contract.ExportMetadata, batch_sizes: Tuple[int, ...],
                        model_name: str) -> List[prediction_log_pb2.PredictionLog]:
    """A question-answering export's warmup: a Predict request to `qa` per batch size. Among the contexts are an
    empty one and one longer than a window (`_texts`' long text), so the no-span path and several windows run."""
    logs = []
    for batch_size in batch_sizes:
        predict = predict_pb2.PredictRequest()
        predict.model_spec.name = model_name
        predict.model_spec.signature_name = contract.QA_SIGNATURE
        predict.inputs[contract.QUESTION].CopyFrom(_string_tensor(_texts(_SAMPLE_PAIR_TEXTS, batch_size, 1)))
        predict.inputs[contract.CONTEXT].CopyFrom(
            _string_tensor(_texts(_SAMPLE_TEXTS, batch_size, metadata.max_seq_length)))
        logs.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict)))
    return logs


def write_warmup_requests(
    export_dir: str,
    metadata: Optional[contract.ExportMetadata] = None,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
) -> str:
    """Writes the warmup TFRecord into `export_dir` (metadata: read from the export when not given).

    Returns the file's path. The file is written beside its final name and renamed, so a reader never sees
    half of it.
    """
    metadata = metadata or contract.read_metadata(export_dir)
    logs = build_warmup_requests(metadata, batch_sizes, model_name=metadata.model_name or layout.DEFAULT_MODEL_NAME)
    path = contract.warmup_path(export_dir)
    tf.io.gfile.makedirs(os.path.dirname(path))
    temporary = path + ".tmp"
    with tf.io.TFRecordWriter(temporary) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def read_warmup_requests(export_dir: str) -> List[prediction_log_pb2.PredictionLog]:
    """The PredictionLog records of `export_dir`'s warmup file (FileNotFoundError when it has none)."""
    path = contract.warmup_path(export_dir)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{export_dir}: no {contract.ASSETS_EXTRA_DIR}/{contract.WARMUP_FILE}")
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def request_inputs(log: prediction_log_pb2.PredictionLog) -> Tuple[str, Dict[str, np.ndarray]]:
    """`(signature name, {input key: array})`: what a PredictionLog feeds the SavedModel's signature.

    A Classify request's tf.Examples become the serialized strings of the signature's `inputs` tensor, as
    TF Serving's Classify API feeds them.
    """
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        return (request.model_spec.signature_name or contract.PREDICT_SIGNATURE,
                {key: tf.make_ndarray(tensor) for key, tensor in request.inputs.items()})
    if kind == "classify_log":
        request = log.classify_log.request
        examples = [e.SerializeToString() for e in request.input.example_list.examples]
        return (request.model_spec.signature_name or contract.PREDICT_SIGNATURE,
                {contract.CLASSIFY_INPUT: np.array(examples, dtype=object)})
    raise ValueError(f"a {kind or 'empty'} warmup record; albert-tfx writes predict_log and classify_log only")
