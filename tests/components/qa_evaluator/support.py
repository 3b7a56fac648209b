"""QaEvaluator test helpers: eval questions as QaExampleGen writes them, Model artifacts over an export, a
SavedModel without the `qa` signature, and one executor run as TFX runs it."""

import os
from typing import Dict, Optional, Sequence

import tensorflow as tf
from tfx.types import standard_artifact_utils, standard_artifacts

from components.qa_evaluator import executor as executor_lib
from components.qa_evaluator import spec
from components.qa_example_gen import beam_pipeline, parsing

EVAL_FILE = "data_tfrecord-00000-of-00001.gz"


def question(question_id: str, text: str, context: str, answers: Sequence[str] = (),
             impossible: bool = False) -> parsing.Question:
    """One question; answer starts are found in the context (they are not scored, only stored)."""
    starts = tuple(max(context.find(answer), 0) for answer in answers)
    return parsing.Question(question_id, "an article", text, context, tuple(answers), starts, impossible)


def examples_artifact(uri: str, questions: Sequence[parsing.Question], split: str = "eval",
                      drop_feature: Optional[str] = None) -> standard_artifacts.Examples:
    """An Examples artifact with one split of `questions`, written by QaExampleGen's own `make_example` (minus
    `drop_feature`, to break it) into a gzipped TFRecord, as ExampleGen lays it out."""
    artifact = standard_artifacts.Examples()
    artifact.uri = uri
    artifact.split_names = standard_artifact_utils.encode_split_names([split])
    os.makedirs(os.path.join(uri, f"Split-{split}"))
    with tf.io.TFRecordWriter(os.path.join(uri, f"Split-{split}", EVAL_FILE), "GZIP") as writer:
        for item in questions:
            example = beam_pipeline.make_example(item)
            if drop_feature is not None:
                del example.features.feature[drop_feature]
            writer.write(example.SerializeToString())
    return artifact


def model_artifact(uri: str, export_dir: str, artifact_id: int) -> standard_artifacts.Model:
    """A Model artifact whose Format-Serving is (a link to) `export_dir`, as the Trainer lays one out."""
    artifact = standard_artifacts.Model()
    artifact.uri = uri
    artifact.id = artifact_id
    os.makedirs(uri)
    os.symlink(export_dir, os.path.join(uri, "Format-Serving"))
    return artifact


def export_without_qa_signature(export_dir: str) -> str:
    """A SavedModel whose only signature is `serving_default` (a classifier's, say)."""
    module = tf.Module()
    module.echo = tf.function(lambda text: {"text": text}, input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.echo.get_concrete_function()})
    return export_dir


def run_executor(root: str, examples, model, baseline=None, name: str = "run", **parameters) -> Dict[str, object]:
    """Runs the executor as TFX would (the parameters of `QaEvaluatorOptions`, None left out); returns
    {"evaluation": ModelEvaluation, "blessing": ModelBlessing}."""
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = os.path.join(root, name, "evaluation")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = os.path.join(root, name, "blessing")
    inputs = {spec.EXAMPLES_KEY: [examples], spec.MODEL_KEY: [model],
              spec.BASELINE_MODEL_KEY: [baseline] if baseline is not None else []}
    exec_properties = spec.QaEvaluatorOptions(**parameters).to_exec_properties()
    executor_lib.Executor().Do(inputs, {spec.EVALUATION_KEY: [evaluation], spec.BLESSING_KEY: [blessing]},
                               exec_properties)
    return {spec.EVALUATION_KEY: evaluation, spec.BLESSING_KEY: blessing}
