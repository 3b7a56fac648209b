"""Loads an export in a fresh process, as a server would, and records what every signature answers.

`python -m tests.serving.support.saved_model_probe EXPORT_DIR REQUEST.json RESULT.json`. REQUEST holds `texts`
(raw strings), `text_feature` (the raw feature name for tf.Examples), and `labels` with `label_feature`
(for the labelled examples that `transformed_features` reads). Nothing of trainer/ is imported:
the SavedModel must stand on its own (plus tensorflow_text, which must be imported before loading).
Besides the TF2 loader it runs `classify` through the TF1 session loader, which reads the SignatureDef and
runs the init op as TF Serving's C++ loader does.
"""

import json
import sys

import tensorflow_text  # noqa: F401  (before loading: registers the SentencePiece ops)
import tensorflow as tf

from serving import contract


def _example(*names_and_values: str) -> bytes:
    """A serialized tf.Example from name, value, name, value, ... (string features)."""
    pairs = zip(names_and_values[::2], names_and_values[1::2])
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")])) for name, value in pairs
    })).SerializeToString()


def _plain(outputs):
    return {k: (v.numpy().astype(str) if v.dtype == tf.string else v.numpy()).tolist() for k, v in outputs.items()}


def _session_classify(export_dir: str, examples):
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, [contract.SERVE_TAG], export_dir)
        signature = meta_graph.signature_def[contract.CLASSIFY_SIGNATURE]
        fetches = {k: signature.outputs[k].name for k in contract.CLASSIFY_OUTPUTS}
        got = session.run(fetches, {signature.inputs[contract.CLASSIFY_INPUT].name: examples})
        return {contract.SCORES_OUTPUT: got[contract.SCORES_OUTPUT].tolist(),
                contract.CLASSES_OUTPUT: got[contract.CLASSES_OUTPUT].astype(str).tolist()}


def main(export_dir: str, request_path: str, result_path: str) -> None:
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    texts, feature = request["texts"], request["text_feature"]
    examples = [_example(feature, t) for t in texts]
    labelled = [_example(feature, t, request["label_feature"], label) for t, label in zip(texts, request["labels"])]
    model = tf.saved_model.load(export_dir)
    predict = model.signatures[contract.PREDICT_SIGNATURE]
    result = {
        "signatures": {k: {"method_name": v.method_name, "inputs": sorted(v.inputs), "outputs": sorted(v.outputs)}
                       for k, v in contract.list_signature_defs(export_dir).items()},
        "predict": _plain(predict(**{contract.TEXT_INPUT: tf.constant(texts)})),
        "predict_one": _plain(predict(**{contract.TEXT_INPUT: tf.constant(texts[:1])})),
        "examples": _plain(model.signatures[contract.EXAMPLES_SIGNATURE](
            **{contract.EXAMPLES_INPUT: tf.constant(examples)})),
        "classify": _plain(model.signatures[contract.CLASSIFY_SIGNATURE](
            **{contract.CLASSIFY_INPUT: tf.constant(examples)})),
        "session_classify": _session_classify(export_dir, examples),
        "transformed": _plain(model.signatures[contract.TRANSFORM_SIGNATURE](
            **{contract.EXAMPLES_INPUT: tf.constant(labelled)})),
        # Serving imports only the text contract: loading and answering needs none of the other packages.
        "other_packages": sorted(name for name in sys.modules
                                 if name.split(".")[0] in ("trainer", "components", "pipeline", "albert_tfx")),
    }
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
