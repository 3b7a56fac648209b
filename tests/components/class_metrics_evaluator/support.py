"""ClassMetricsEvaluator test helpers: confusion matrices and TFMA metric values, eval examples as TFX lays them
out, rule-based models with the serving contract's two evaluation signatures, and one executor run.

The rule-based models stand in for trained classifiers where a test needs answers it can count by hand:
`serving_examples` answers from the sentence's words (or always the same label), `transformed_features`
gives `label_ids` through the label vocabulary, as an export's Transform does, and the vocabulary lies in
`assets/label_vocabulary` as in a real export. They take no training and load in a second.
"""

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components.class_metrics_evaluator import executor as executor_lib
from components.class_metrics_evaluator import per_class, spec
from serving import contract
from tests.serving.support import tiny_task
from text_contract import features

def matrix(rows) -> Dict[Tuple[int, int], float]:
    """{(actual, predicted): count} from rows of counts (row = actual class id, column = answered class id)."""
    return {(a, p): float(n) for a, row in enumerate(rows) for p, n in enumerate(row) if n}


def tfma_values(metric, examples) -> Dict[str, float]:
    """{key name: value} of one of tfma_metrics' metrics over `examples` ((label id, probabilities) pairs), by
    its computations as TFMA's evaluator runs them: the confusion matrix's combiner, then the derived result."""
    from tensorflow_model_analysis.metrics import metric_util

    matrix_computation, derived = metric.computations()
    combiner = matrix_computation.combiner
    accumulator = combiner.create_accumulator()
    for label, probabilities in examples:
        accumulator = combiner.add_input(accumulator, metric_util.to_standard_metric_inputs({
            "labels": np.array([float(label)]), "predictions": np.array(probabilities),
            "example_weights": np.array([1.0])}))
    return {key.name: value for key, value in derived.result(combiner.extract_output(accumulator)).items()}


POSITIVE_WORDS = ("good", "great", "lovely", "charming", "fine", "warm", "bright", "superb")  # tiny_task's


def unbalanced_rows(negative: int, positive: int, seed: int = 5) -> List[Dict[str, str]]:
    """tiny_task sentences, `negative` "neg" rows and `positive` "pos" ones."""
    rows = tiny_task.sentences(2 * max(negative, positive), seed=seed)
    return [r for r in rows if r[tiny_task.LABEL_FEATURE] == "neg"][:negative] + \
        [r for r in rows if r[tiny_task.LABEL_FEATURE] == "pos"][:positive]


def examples_artifact(directory: str, rows: Sequence[Dict[str, str]]) -> standard_artifacts.Examples:
    """An Examples artifact with one `eval` split of `rows` (gzipped tf.Examples, as ExampleGen writes them)."""
    examples = standard_artifacts.Examples()
    examples.uri = directory
    examples.split_names = artifact_utils.encode_split_names(["eval"])
    os.makedirs(os.path.join(directory, "Split-eval"))
    with tf.io.TFRecordWriter(os.path.join(directory, "Split-eval", "data.gz"), "GZIP") as writer:
        for row in rows:
            writer.write(tiny_task.example(**{k: [v] for k, v in row.items()}))
    return examples


class _RuleModel(tf.Module):
    def __init__(self, labels: Sequence[str], answer: Optional[str]):
        super().__init__()
        self._labels = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(list(labels), tf.range(len(labels), dtype=tf.int64)), -1)
        self._constant = labels.index(answer) if answer is not None else -1
        self._positive = labels.index("pos")
        self._pattern = r".*\b(" + "|".join(POSITIVE_WORDS) + r")\b.*"

    def _parse(self, examples):
        return tf.io.parse_example(examples, {
            tiny_task.TEXT_FEATURE: tf.io.FixedLenFeature([], tf.string, default_value=""),
            tiny_task.LABEL_FEATURE: tf.io.FixedLenFeature([], tf.string, default_value="")})

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serving_examples(self, examples):
        text = tf.strings.lower(self._parse(examples)[tiny_task.TEXT_FEATURE])
        if self._constant >= 0:
            answer = tf.fill(tf.shape(text), tf.constant(self._constant, tf.int32))
        else:
            positive = tf.strings.regex_full_match(text, self._pattern)
            answer = tf.where(positive, self._positive, 1 - self._positive)
        return {contract.PROBABILITIES_OUTPUT: 0.1 + 0.8 * tf.one_hot(answer, 2)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def transformed_features(self, examples):
        return {features.LABEL_IDS: self._labels.lookup(self._parse(examples)[tiny_task.LABEL_FEATURE])}


def rule_model(directory: str, answer: Optional[str] = None, labels: Sequence[str] = tiny_task.LABELS
               ) -> standard_artifacts.Model:
    """A Model artifact whose export answers `answer` for every example, or (None) "pos" exactly when a
    sentence has one of tiny_task's positive words (right on every tiny_task sentence)."""
    module = _RuleModel(labels, answer)
    export = os.path.join(directory, "Format-Serving")
    tf.saved_model.save(module, export, signatures={
        contract.EXAMPLES_SIGNATURE: module.serving_examples,
        contract.TRANSFORM_SIGNATURE: module.transformed_features})
    with open(os.path.join(export, per_class.ASSETS_DIR, features.LABEL_VOCABULARY), "w") as handle:
        handle.write("".join(f"{label}\n" for label in labels))
    model = standard_artifacts.Model()
    model.uri = directory
    return model


def evaluate(directory: str, model: standard_artifacts.Model, examples: standard_artifacts.Examples, eval_config,
             baseline: Optional[standard_artifacts.Model] = None
             ) -> Tuple[standard_artifacts.ModelEvaluation, standard_artifacts.ModelBlessing]:
    """One run of the executor as TFX calls it (JSON exec properties); its two output artifacts."""
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = os.path.join(directory, "evaluation")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = os.path.join(directory, "blessing")
    os.makedirs(blessing.uri, exist_ok=True)
    inputs = {spec.MODEL_KEY: [model], "examples": [examples]}
    if baseline is not None:
        inputs["baseline_model"] = [baseline]
    executor_lib.Executor().Do(
        inputs, {spec.EVALUATION_KEY: [evaluation], spec.BLESSING_KEY: [blessing]},
        {spec.EVAL_CONFIG_KEY: proto_utils.proto_to_json(eval_config), "example_splits": '["eval"]'})
    return evaluation, blessing
