"""The Evaluator's TFMA config: the blessing gate of `config.evaluation`.

The model is evaluated through the serving contract's `serving_examples` signature (raw tf.Examples, as
the data arrives) with labels from its `transformed_features` signature (`label_ids`: the ids the model
was trained on; TFMA calls that signature by name by default). Metrics: example count, accuracy, macro-F1,
Matthews correlation, the majority-class predictor's scores (always answering the eval split's most
frequent label) and the blessing metric's gain over it (components/class_metrics_evaluator/tfma_metrics.py),
and per-class AUC, precision, recall and F1 for every class of the candidate model (the MetricsSpec's
`binarize` names no class: ClassMetricsEvaluator fills in the model's class ids when it runs, since only
the Transform knows how many labels the data has).

Thresholds, all on `evaluation.blessing_metric`: a floor (`min_score`), a margin over the majority-class
predictor (`min_gain_over_majority`: a constant predictor is never blessed, whatever the floor says), and
a change threshold against the baseline (the last blessed model): it must not drop by more than
`max_score_drop`. Without a baseline (the first run) TFMA skips the change threshold. `min_accuracy` /
`max_accuracy_drop`, when set, add the same two on accuracy (the stricter wins where they meet).

Task qa's gate is QaEvaluator's (components/qa_evaluator): `qa_gate_parameters`.
"""

from __future__ import annotations

from typing import Dict, Optional

import tensorflow_model_analysis as tfma

from components.class_metrics_evaluator import chance, tfma_metrics
from pipeline.configs import EvaluationConfig, QaSettings
from serving import contract
from text_contract import features

ACCURACY_METRIC = tfma_metrics.ACCURACY_METRIC
ACCURACY_KEY = tfma_metrics.ACCURACY_KEY  # the metric's key in TFMA's output (the run summary reads it)
# Differences (a gain, a change) compare with a margin of float rounding: one exactly at its bound passes.
_ROUNDING = 1e-9


def _threshold(floor: Optional[float], max_drop: Optional[float]) -> Optional[tfma.MetricThreshold]:
    if floor is None and max_drop is None:
        return None
    threshold = tfma.MetricThreshold()
    if floor is not None:
        threshold.value_threshold.lower_bound.value = floor
    if max_drop is not None:
        # change = candidate - baseline; HIGHER_IS_BETTER fails when change < absolute.
        threshold.change_threshold.direction = tfma.MetricDirection.HIGHER_IS_BETTER
        threshold.change_threshold.absolute.value = -max_drop - _ROUNDING
    return threshold


def _stricter(pick, *values: Optional[float]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def thresholds(evaluation: EvaluationConfig) -> Dict[str, Optional[tfma.MetricThreshold]]:
    """{blessing metric name: its MetricThreshold or None}: the gate's floor and drop on each metric."""
    found = {}
    for name in chance.BLESSING_METRICS:
        gated = name == evaluation.blessing_metric
        floor = evaluation.min_score if gated else None
        drop = evaluation.max_score_drop if gated else None
        if name == chance.ACCURACY:
            floor = _stricter(max, floor, evaluation.min_accuracy)
            drop = _stricter(min, drop, evaluation.max_accuracy_drop)
        found[name] = _threshold(floor, drop)
    return found


def eval_config(evaluation: EvaluationConfig) -> tfma.EvalConfig:
    by_metric = thresholds(evaluation)
    accuracy = tfma.MetricConfig(class_name=ACCURACY_METRIC)
    if by_metric[chance.ACCURACY] is not None:
        accuracy.threshold.CopyFrom(by_metric[chance.ACCURACY])
    margin = tfma.MetricThreshold()
    margin.value_threshold.lower_bound.value = evaluation.min_gain_over_majority - _ROUNDING  # a difference
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount"), accuracy,
        tfma_metrics.metric_config(tfma_metrics.MacroF1, by_metric[chance.MACRO_F1]),
        tfma_metrics.metric_config(tfma_metrics.MatthewsCorrelation, by_metric[chance.MATTHEWS_CORRELATION]),
        tfma_metrics.metric_config(tfma_metrics.MajorityClass),
        tfma_metrics.metric_config(
            tfma_metrics.GainOverMajorityClass, margin, metric=evaluation.blessing_metric),
    ]
    # One-vs-rest per class id (for a binary task, class 1's AUC is the usual AUC, and the positive label's F1
    # the F1 that GLUE reports for MRPC; gate.PER_CLASS_METRICS are their keys).
    per_class = [tfma.MetricConfig(class_name=name) for name in ("AUC", "Precision", "Recall", "F1Score")]
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


def qa_gate_parameters(qa: QaSettings) -> Dict[str, object]:
    """QaEvaluator's gate parameters from the config's qa section."""
    return {"min_f1": qa.min_f1, "max_f1_drop": qa.max_f1_drop, "language": qa.language}
