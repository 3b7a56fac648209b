"""Export a trained `AlbertClassifier` as a SavedModel that fulfils `serving/contract.py`.

The SavedModel is a `tf.Module` holding the Keras 3 model's variables and the Transform's
`transform_features_layer()` (the very graph that tokenized the training data, SentencePiece ops
included), saved with `tf.saved_model.save`; its tf.functions call the Keras model. The module tracks the
model's variables rather than the model, or TF Serving could not load the result (see
`ClassifierServingModule`). Keras' own `model.save`/`model.export` are not used: they give TFMA no usable
signature and cannot carry the transform graph.

Every signature runs raw text -> Transform (normalization, SentencePiece, truncation to the model's
length, packing) -> encoder + head -> float32 softmax. See the contract module for the table of signature
keys, inputs and outputs.

The Classify method name: `tf.saved_model.save` writes every signature with method name
`tensorflow/serving/predict` (TF 2.16 hard-codes it, no public API sets another), but TF Serving's
Classify API only runs signatures whose method name is `tensorflow/serving/classify`. So after saving, the
export rewrites the `classify` SignatureDef's `method_name` in saved_model.pb (the protos, nothing else
changes: inputs, outputs and functions stay as saved) and rewrites `fingerprint.pb`, whose checksum covers
saved_model.pb. `tf.saved_model.load` ignores method names, so the TF2 loader (TFMA) loads the result as
well as the session-based loader that TF Serving uses (the tests run both).

Long documents (the Transform's long_text "windows", issue 15 item 6): the transform graph makes each document's
windows ([batch, W, L] model inputs and window_count); every signature runs the model on the windows in use
only (`text_contract.windows.windows_in_use`, as serving/qa_export.py does) and pools their logits per
document (`pool_window_logits`: mean or max per class, softmaxed after), so each signature still answers one
row per document, and `serving_examples` lines up with `transformed_features`' per-document label_ids for
TFMA. The metadata's `long_text` records the windows and the pooling.

Every export carries TF Serving warmup requests (`serving/warmup.py`), written with the rest.

Export goes through `text_contract.storage.publish_directory`: everything is written into a staging
directory, checked against the contract, then published whole. On a local file system that is a hidden
directory beside `export_dir`, fsynced and renamed into place (a failure leaves neither a partial
`export_dir` nor the staging directory); for a remote `export_dir` (`gs://...`, as Kubeflow gives the
Trainer), a local staging directory copied with tf.io.gfile, saved_model.pb last (TFX publishes the
Trainer's output only after run_fn succeeds, and the push step enforces serving-side atomicity). Anything that loads the result must `import tensorflow_text`
first.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import keras
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops of the transform graph)
import tensorflow_transform as tft
from tensorflow.core.protobuf import saved_model_pb2

from serving import contract, layout
from serving import warmup
from text_contract import features, storage, vocabulary
from text_contract import transform_options, windows

logger = logging.getLogger(__name__)

# The transformed features the encoder reads (int64 from the Transform, int32 into the model).
MODEL_INPUTS = features.MODEL_INPUTS

TransformOutputLike = Union[str, os.PathLike, tft.TFTransformOutput]


class ExportError(ValueError):
    """The model, the transform output or the arguments cannot make an export that fulfils the contract."""


def transform_output(value: TransformOutputLike) -> tft.TFTransformOutput:
    """A `tft.TFTransformOutput` from itself or from its directory (the TFX TransformGraph artifact URI)."""
    return value if isinstance(value, tft.TFTransformOutput) else tft.TFTransformOutput(os.fspath(value))


def label_names_from_transform(tf_transform_output: TransformOutputLike) -> list:
    """The label names in label-id order: the Transform's `features.LABEL_VOCABULARY` vocabulary file."""
    output = transform_output(tf_transform_output)
    try:
        names = output.vocabulary_by_name(features.LABEL_VOCABULARY)
    except Exception as error:  # TFT raises various errors for a missing vocabulary
        raise ExportError(
            f"the transform output has no {features.LABEL_VOCABULARY!r} vocabulary (was it made without a label "
            f"feature?): {error}"
        ) from None
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def sequence_layout_from_transform(tf_transform_output: TransformOutputLike) -> Tuple[int, Optional[int]]:
    """`(max_seq_length, max_windows)` of the Transform's classify rows: token_ids FixedLen [L] gives (L, None),
    one sequence per example; [W, L] gives (L, W), documents of windows (long_text "windows")."""
    spec = transform_output(tf_transform_output).transformed_feature_spec()
    token_ids = spec.get(features.TOKEN_IDS)
    if not isinstance(token_ids, tf.io.FixedLenFeature) or len(token_ids.shape) not in (1, 2):
        raise ExportError(f"the transform output has no fixed-length {features.TOKEN_IDS!r} feature: {token_ids}")
    if len(token_ids.shape) == 1:
        return int(token_ids.shape[0]), None
    if features.WINDOW_COUNT not in spec:
        raise ExportError(f"the transform output's {features.TOKEN_IDS!r} is {list(token_ids.shape)} (windows) but it "
                          f"has no {features.WINDOW_COUNT!r}: not a classify Transform's document windows")
    return int(token_ids.shape[1]), int(token_ids.shape[0])


def max_seq_length_from_transform(tf_transform_output: TransformOutputLike) -> int:
    """The positions of the Transform's sequences (of each window, for documents of windows)."""
    return sequence_layout_from_transform(tf_transform_output)[0]


def pool_window_logits(logits: tf.Tensor, document: tf.Tensor, num_documents: tf.Tensor, pooling: str) -> tf.Tensor:
    """Windows' logits [n, classes] and each window's document row ([n] int, every row in [0, num_documents) with at
    least one window) -> [num_documents, classes] float32: the mean or the max per class of its windows' logits
    (`transform_options.WINDOW_POOLINGS`)."""
    logits = tf.cast(logits, tf.float32)
    if pooling == transform_options.WINDOW_POOLING_MEAN:
        return tf.math.unsorted_segment_mean(logits, document, num_documents)
    if pooling == transform_options.WINDOW_POOLING_MAX:
        return tf.math.unsorted_segment_max(logits, document, num_documents)
    raise ValueError(f"window pooling must be one of {transform_options.WINDOW_POOLINGS}, got {pooling!r}")


def document_logits(model: keras.Model, transformed: Mapping[str, tf.Tensor], pooling: str) -> tf.Tensor:
    """Documents of windows (`text_contract.windows.document_windows`' [batch, W, L] inputs and window_count) ->
    [batch, classes] float32 logits: the model runs on the windows in use only, their logits pooled per document."""
    shape = tf.shape(transformed[features.TOKEN_IDS], out_type=tf.int64)  # [batch, W, L]
    _, used, inputs = windows.windows_in_use(transformed)  # used: rows of the [batch * W, L] reshape
    logits = model(inputs, training=False)["logits"]
    # Every document has a window (an empty one too: window_count >= 1), so no pooled row is left empty.
    return pool_window_logits(logits, used // shape[1], shape[0], pooling)


def _raw_feature(spec, text: tf.Tensor):
    """[batch] strings -> the tensor the transform layer expects for a raw feature parsed with `spec`."""
    if isinstance(spec, tf.io.FixedLenFeature):
        if list(spec.shape) == []:
            return text
        if list(spec.shape) == [1]:
            return tf.expand_dims(text, 1)
    elif isinstance(spec, tf.io.VarLenFeature):
        batch = tf.shape(text, out_type=tf.int64)[0]
        indices = tf.stack([tf.range(batch), tf.zeros([batch], tf.int64)], axis=1)
        return tf.SparseTensor(indices, text, tf.stack([batch, tf.constant(1, tf.int64)]))
    elif isinstance(spec, tf.io.RaggedFeature):
        return tf.RaggedTensor.from_tensor(tf.expand_dims(text, 1))
    raise ExportError(f"cannot feed raw text into a feature parsed as {spec}")


def _parse_spec(spec):
    """The raw feature spec for parsing served tf.Examples: a missing fixed-length string reads as ""."""
    if (isinstance(spec, tf.io.FixedLenFeature) and spec.dtype == tf.string and spec.default_value is None
            and list(spec.shape) in ([], [1])):
        return tf.io.FixedLenFeature(spec.shape, spec.dtype, default_value="" if not spec.shape else [""])
    return spec


def _predict_fn(model: keras.Model, transform_layer, label_names: Sequence[str], window_pooling: Optional[str] = None):
    """raw features -> the contract's predict outputs, through the transform layer and the Keras model (with
    `window_pooling`, over each document's windows: `document_logits`)."""

    def predict(raw_features: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        transformed = transform_layer(dict(raw_features))
        if window_pooling:
            logits = document_logits(model, transformed, window_pooling)
        else:
            inputs = {name: tf.cast(transformed[name], tf.int32) for name in MODEL_INPUTS}
            logits = model(inputs, training=False)["logits"]
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)  # float32 under mixed precision too
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        label = tf.gather(tf.constant(list(label_names), tf.string), label_id)
        return {
            contract.PROBABILITIES_OUTPUT: probabilities,
            contract.LABEL_ID_OUTPUT: label_id,
            contract.LABEL_OUTPUT: label,
        }

    return predict


def served_variables(model: keras.Model) -> list:
    """The tf.Variables a serving module tracks for `model` (a Keras 3 variable's inner one: see
    `ClassifierServingModule`)."""
    return [v.value if isinstance(v, keras.Variable) else v for v in model.variables]


class ClassifierServingModule(tf.Module):
    """The transform layer and the classifier's variables, with the contract's signatures as tf.functions.

    The Keras model is used by the functions but deliberately not tracked as an attribute: a Keras 3
    variable exports as two graph variables (its inner tf.Variable, which the functions read, and a copy,
    which the checkpoint restores), so a session-based loader (TF Serving, TF1 `loader.load`) fails with
    "Could not find variable ...". Tracking the inner tf.Variables themselves (`model_variables`) makes the
    functions and the checkpoint use the same graph variable. The TF2 loader works either way.
    """

    def __init__(
        self,
        model: keras.Model,
        tf_transform_output: tft.TFTransformOutput,
        text_features: Sequence[str],
        label_names: Sequence[str],
        window_pooling: Optional[str] = None,
    ):
        super().__init__(name="albert_classifier_serving")
        self.transform_layer = tf_transform_output.transform_features_layer()
        self.model_variables = served_variables(model)
        predict = _predict_fn(model, self.transform_layer, label_names, window_pooling)
        text_features = tuple(text_features)
        all_raw_spec = tf_transform_output.raw_feature_spec()
        raw_spec = {name: all_raw_spec[name] for name in text_features}
        parse_spec = {name: _parse_spec(spec) for name, spec in raw_spec.items()}
        labelled_parse_spec = {name: _parse_spec(spec) for name, spec in all_raw_spec.items()}
        transform_layer = self.transform_layer
        names = list(label_names)

        text_specs = [tf.TensorSpec([None], tf.string, name=key) for key in contract.text_input_keys(len(text_features))]

        @tf.function(input_signature=text_specs)
        def serve_text(*texts):
            return predict({name: _raw_feature(raw_spec[name], text) for name, text in zip(text_features, texts)})

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.EXAMPLES_INPUT)])
        def serve_examples(examples):
            return predict(tf.io.parse_example(examples, parse_spec))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.CLASSIFY_INPUT)])
        def classify(inputs):
            predictions = predict(tf.io.parse_example(inputs, parse_spec))
            classes = tf.tile(tf.constant([names], tf.string), tf.stack([tf.shape(inputs)[0], 1]))
            return {contract.SCORES_OUTPUT: predictions[contract.PROBABILITIES_OUTPUT], contract.CLASSES_OUTPUT: classes}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.EXAMPLES_INPUT)])
        def transformed_features(examples):
            transformed = transform_layer(tf.io.parse_example(examples, labelled_parse_spec))
            return {name: transformed[name] for name in contract.TRANSFORM_OUTPUTS}

        self.serve_text = serve_text
        self.serve_examples = serve_examples
        self.classify = classify
        self.transformed_features = transformed_features

    def signatures(self) -> Dict[str, Any]:
        return {
            contract.PREDICT_SIGNATURE: self.serve_text.get_concrete_function(),
            contract.EXAMPLES_SIGNATURE: self.serve_examples.get_concrete_function(),
            contract.CLASSIFY_SIGNATURE: self.classify.get_concrete_function(),
            contract.TRANSFORM_SIGNATURE: self.transformed_features.get_concrete_function(),
        }


def set_signature_method_names(export_dir: str, method_names: Mapping[str, str]) -> None:
    """Rewrites the `method_name` of the named SignatureDefs in `export_dir`/saved_model.pb (and the
    fingerprint that hashes that file). Only the method names change."""
    path = os.path.join(export_dir, contract.SAVED_MODEL_FILE)
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    for meta_graph in proto.meta_graphs:
        for key, method_name in method_names.items():
            if key not in meta_graph.signature_def:
                raise ExportError(f"{export_dir}: no signature {key!r} to set the method name of")
            meta_graph.signature_def[key].method_name = method_name
    temporary = path + ".tmp"
    with tf.io.gfile.GFile(temporary, "wb") as handle:
        handle.write(proto.SerializeToString(deterministic=True))
    tf.io.gfile.rename(temporary, path, overwrite=True)
    _refresh_fingerprint(export_dir)


def _refresh_fingerprint(export_dir: str) -> None:
    fingerprint = os.path.join(export_dir, "fingerprint.pb")
    if not tf.io.gfile.exists(fingerprint):
        return
    try:
        from tensorflow.python.saved_model import fingerprinting_utils

        fingerprinting_utils.write_fingerprint(export_dir)
    except Exception as error:  # private API: without it, a stale fingerprint is worse than none
        logger.warning("could not rewrite %s (%s); removing it (it is optional)", fingerprint, error)
        tf.io.gfile.remove(fingerprint)


def vocabulary_facts(vocabulary_path: Optional[str]) -> Dict[str, Any]:
    """The metadata's `vocabulary_sha256` and `vocabulary_size` of the file at `vocabulary_path` ({} without one)."""
    if not vocabulary_path:
        return {}
    with tf.io.gfile.GFile(vocabulary_path, "rb") as handle:
        model_bytes = handle.read()
    facts: Dict[str, Any] = {"vocabulary_sha256": hashlib.sha256(model_bytes).hexdigest()}
    try:
        info = vocabulary.read_vocabulary(model_bytes, vocabulary_path)
    except vocabulary.VocabularyError as error:  # a hash without a size is still worth recording
        logger.warning("could not read %s as a vocabulary: %s", vocabulary_path, error)
    else:
        facts["vocabulary_size"] = info.size
    return facts


def package_versions() -> Dict[str, str]:
    """The metadata's `versions`: the packages whose behaviour the export depends on."""
    versions = {"tensorflow": tf.__version__, "keras": keras.__version__, "tensorflow_transform": tft.__version__}
    versions["tensorflow_text"] = getattr(tensorflow_text, "__version__", "unknown")
    return versions


def _write_export(module: ClassifierServingModule, staging: str, metadata: contract.ExportMetadata,
                  vocabulary_path: Optional[str] = None) -> None:
    tf.saved_model.save(module, staging, signatures=module.signatures())
    set_signature_method_names(staging, {contract.CLASSIFY_SIGNATURE: contract.CLASSIFY_METHOD_NAME})
    tf.io.gfile.makedirs(os.path.join(staging, contract.ASSETS_EXTRA_DIR))
    with tf.io.gfile.GFile(contract.metadata_path(staging), "w") as handle:
        handle.write(metadata.to_json())
    if vocabulary_path:  # retraining reuses it (the graph holds the bytes, but not as a file)
        tf.io.gfile.copy(vocabulary_path, contract.vocabulary_path(staging), overwrite=True)
    warmup.write_warmup_requests(staging, metadata)  # in staging: published with the export or not at all
    problems = contract.missing_from_contract(contract.list_signature_defs(staging), len(metadata.text_features))
    if problems:
        raise ExportError("the export does not fulfil the serving contract: " + "; ".join(problems))


def export_classifier(
    model: keras.Model,
    tf_transform_output: TransformOutputLike,
    export_dir: Union[str, os.PathLike],
    *,
    text_features: Sequence[str],
    label_names: Optional[Sequence[str]] = None,
    model_name: str = layout.DEFAULT_MODEL_NAME,
    preset: Optional[str] = None,
    vocabulary_path: Optional[str] = None,
    extra_metadata: Optional[Mapping[str, Any]] = None,
    overwrite: bool = False,
    window_pooling: Optional[str] = None,
) -> str:
    """Exports `model` (an `AlbertClassifier`) with the Transform's graph into `export_dir`, atomically.

    `tf_transform_output`: the Transform output directory (or a `tft.TFTransformOutput`).
    `text_features`: the raw text feature names the Transform reads, one or two (`text`, `text_pair`).
    `label_names`: in label-id order; default: the Transform's `features.LABEL_VOCABULARY` vocabulary.
    `vocabulary_path`: the SentencePiece model the Transform embedded, for the metadata's hash and size.
    `window_pooling`: for a Transform of document windows (long_text "windows"), how the windows' logits become
    the document's ("mean" or "max"; default `transform_options.DEFAULT_WINDOW_POOLING`); an error for one of
    single sequences, where it would do nothing.
    An existing non-empty `export_dir` is an error unless `overwrite`. Returns `export_dir`.
    """
    export_dir = os.fspath(export_dir)
    output = transform_output(tf_transform_output)
    text_features = [text_features] if isinstance(text_features, str) else list(text_features)
    contract.text_input_keys(len(text_features))  # 1 or 2
    raw_spec = output.raw_feature_spec()
    for name in text_features:
        if name not in raw_spec:
            raise ExportError(f"text feature {name!r} is not a raw feature of the transform: {sorted(raw_spec)}")
        if raw_spec[name].dtype != tf.string:
            raise ExportError(f"text feature {name!r} is {raw_spec[name].dtype.name}, not a string feature")
    labels = list(label_names) if label_names is not None else label_names_from_transform(output)
    num_classes = int(getattr(model, "num_classes", 0) or model.output["logits"].shape[-1])
    if len(labels) != num_classes:
        raise ExportError(f"{len(labels)} label names {labels[:10]} for a model with {num_classes} classes")
    if len(set(labels)) != len(labels) or not all(labels):
        raise ExportError(f"label names must be distinct and non-empty: {labels}")
    albert_config = model.encoder.albert_config
    max_seq_length, max_windows = sequence_layout_from_transform(output)
    long_text = {}
    if max_windows is None:
        if window_pooling is not None:
            raise ExportError(f"window_pooling={window_pooling!r}, but the transform output packs one sequence per "
                              f"example (long_text {transform_options.LONG_TEXT_TRUNCATE!r}): there are no windows "
                              "to pool")
    else:
        window_pooling = window_pooling or transform_options.DEFAULT_WINDOW_POOLING
        if window_pooling not in transform_options.WINDOW_POOLINGS:
            raise ExportError(f"window_pooling must be one of {transform_options.WINDOW_POOLINGS}, got "
                              f"{window_pooling!r}")
        long_text = {transform_options.LONG_TEXT_KEY: transform_options.LONG_TEXT_WINDOWS,
                     transform_options.MAX_WINDOWS_PER_DOCUMENT_KEY: max_windows,
                     transform_options.WINDOW_POOLING_KEY: window_pooling}
    if max_seq_length > albert_config.max_position_embeddings:
        raise ExportError(f"the transform packs {max_seq_length} positions; the encoder has "
                          f"{albert_config.max_position_embeddings}")

    facts = vocabulary_facts(vocabulary_path)
    if facts.get("vocabulary_size", 0) > albert_config.vocab_size:
        raise ExportError(f"the vocabulary has {facts['vocabulary_size']} entries; the encoder's "
                          f"vocab_size is {albert_config.vocab_size}")
    metadata = contract.ExportMetadata(
        model_name=model_name,
        label_names=tuple(labels),
        text_features=tuple(text_features),
        max_seq_length=max_seq_length,
        albert_config=albert_config.to_dict(),
        preset=preset,
        signatures=contract.signature_table(len(text_features)),
        created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        versions=package_versions(),
        extra=dict(extra_metadata or {}),
        long_text=long_text,
        **facts,
    )

    storage.register_filesystem(export_dir)
    if tf.io.gfile.exists(export_dir) and tf.io.gfile.listdir(export_dir) and not overwrite:
        raise FileExistsError(f"{export_dir}: exists and is not empty (pass overwrite=True to replace it)")
    module = ClassifierServingModule(model, output, text_features, labels, window_pooling)
    storage.publish_directory(export_dir, lambda staging: _write_export(module, staging, metadata, vocabulary_path),
                              written_last=(contract.SAVED_MODEL_FILE,))
    logger.info("exported %s (%d classes: %s) to %s", model_name, num_classes, labels, export_dir)
    return export_dir
