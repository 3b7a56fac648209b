"""The Evaluator's TFMA config: the blessing gate of `config.evaluation`.

The model is evaluated through the serving contract's `serving_examples` signature (raw tf.Examples, as
the data arrives) with labels from its `transformed_features` signature (`label_ids`: the ids the model
was trained on; TFMA calls that signature by name by default). Metrics: accuracy, example count, and
per-class AUC, precision and recall for every class of the candidate model (the MetricsSpec's `binarize`
names no class: ClassMetricsEvaluator fills in the model's class ids when it runs, since only the
Transform knows how many labels the data has). Thresholds on accuracy: a value threshold (never bless a
model below `min_accuracy`) and a change threshold against the baseline (the last blessed model):
accuracy must not drop by more than `max_accuracy_drop`. Without a baseline (the first run) only the
value threshold applies.
"""

from __future__ import annotations

import tensorflow_model_analysis as tfma

from pipeline.configs import EvaluationConfig
from serving import contract
from text_contract import features
ACCURACY_METRIC = "SparseCategoricalAccuracy"
ACCURACY_KEY = "sparse_categorical_accuracy"  # the metric's key in TFMA's output (the run summary reads it)


def eval_config(evaluation: EvaluationConfig) -> tfma.EvalConfig:
    accuracy = tfma.MetricConfig(
        class_name=ACCURACY_METRIC,
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": evaluation.min_accuracy}),
            # change = candidate - baseline; HIGHER_IS_BETTER fails when change < absolute.
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                absolute={"value": -evaluation.max_accuracy_drop - 1e-9}),
        ),
    )
    metrics = [tfma.MetricConfig(class_name="ExampleCount"), accuracy]
    # One-vs-rest per class id (for a binary task, class 1's AUC is the usual AUC).
    per_class = [tfma.MetricConfig(class_name=name) for name in ("AUC", "Precision", "Recall")]
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            signature_name=contract.EXAMPLES_SIGNATURE,
            prediction_key=contract.PROBABILITIES_OUTPUT,
            label_key=features.LABEL_IDS,
            preprocessing_function_names=[contract.TRANSFORM_SIGNATURE],
        )],
        metrics_specs=[
            tfma.MetricsSpec(metrics=metrics),
            tfma.MetricsSpec(metrics=per_class, binarize=tfma.BinarizationOptions()),  # filled in at run time
        ],
        slicing_specs=[tfma.SlicingSpec()],
    )
