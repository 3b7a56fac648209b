"""TFMA metrics that TFMA lacks for a single-label classifier: macro-F1, Matthews correlation (R_K), and the
majority-class predictor of the eval split with each metric's gain over it.

TFMA's own F1 and MCC are one-vs-rest at a probability threshold (binarize + macro average), which is not
the argmax answer a served classifier gives; so these are derived, per model and per slice, from TFMA's
multi-class confusion matrix of argmax answers (`multi_class_confusion_matrices`), through the plain
functions of `chance.py`. Being TFMA metrics, TFMA computes them for the candidate and the baseline, puts
them in its output and applies their thresholds (value and change) itself, so the blessing stays TFMA's.

The majority-class predictor is read off the same matrix: its row sums are the eval split's label counts
as TFMA sees them (the ids the model's `transformed_features` signature gives, by its label vocabulary),
so it needs no second pass over the examples and cannot count labels differently from TFMA.

A MetricConfig names them by class and module (`metric_config`), so TFMA imports this module where it runs.
"""

from __future__ import annotations

import json
from typing import Dict, Optional

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.metrics import multi_class_confusion_matrix_metrics as tfma_matrices

from components.class_metrics_evaluator import chance

ACCURACY_METRIC = "SparseCategoricalAccuracy"  # keras' accuracy, as TFMA runs it
ACCURACY_KEY = "sparse_categorical_accuracy"  # its key in TFMA's output
MACRO_F1_KEY = chance.MACRO_F1
MATTHEWS_CORRELATION_KEY = chance.MATTHEWS_CORRELATION
KEYS = {chance.ACCURACY: ACCURACY_KEY, chance.MACRO_F1: MACRO_F1_KEY,
        chance.MATTHEWS_CORRELATION: MATTHEWS_CORRELATION_KEY}  # blessing metric name -> key in TFMA's output
EXAMPLE_COUNT_KEY = "example_count"  # tfma's ExampleCount

# Below every probability: each example's argmax is its answer (TFMA marks answers <= the threshold as none).
_ARGMAX_THRESHOLD = -1.0
_MATRIX_NAME = "_argmax_confusion_matrix"  # ours, so no other TFMA metric's thresholds share the computation


def _check_metric(metric: str) -> None:
    if metric not in chance.BLESSING_METRICS:
        raise ValueError(f"metric must be one of {list(chance.BLESSING_METRICS)}, got {metric!r}")


def _with_matrix(names, values, eval_config, model_name, output_name, example_weighted):
    """TFMA's argmax confusion matrix, then one derived computation of `values(matrix)`: {name: value} for `names`."""
    computations = tfma_matrices.multi_class_confusion_matrices(
        thresholds=[_ARGMAX_THRESHOLD], name=_MATRIX_NAME, eval_config=eval_config, model_name=model_name,
        output_name=output_name, example_weighted=example_weighted)
    matrix_key = computations[-1].keys[-1]

    def key(name: str) -> metric_types.MetricKey:
        return metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                      example_weighted=example_weighted)

    def result(metrics):
        (entries,) = metrics[matrix_key].values()  # one threshold
        return {key(name): value for name, value in values(dict(entries)).items()}

    computations.append(metric_types.DerivedMetricComputation(keys=[key(n) for n in names], result=result))
    return computations


def _score(metric: str, name: str, eval_config=None, model_name: str = "", output_name: str = "",
           example_weighted: bool = False) -> metric_types.MetricComputations:
    return _with_matrix([name], lambda matrix: {name: chance.METRICS[metric](matrix)}, eval_config, model_name,
                        output_name, example_weighted)


def _macro_f1(name: str = MACRO_F1_KEY, eval_config=None, model_name: str = "", output_name: str = "",
              example_weighted: bool = False) -> metric_types.MetricComputations:
    return _score(chance.MACRO_F1, name, eval_config, model_name, output_name, example_weighted)


def _matthews_correlation(name: str = MATTHEWS_CORRELATION_KEY, eval_config=None, model_name: str = "",
                          output_name: str = "", example_weighted: bool = False) -> metric_types.MetricComputations:
    return _score(chance.MATTHEWS_CORRELATION, name, eval_config, model_name, output_name, example_weighted)


def _majority_class(name: str = chance.MAJORITY_CLASS_KEY, eval_config=None, model_name: str = "",
                    output_name: str = "", example_weighted: bool = False) -> metric_types.MetricComputations:
    def values(matrix) -> Dict[str, float]:
        majority = chance.majority_class(matrix)
        return {name: float(majority.class_id), **{chance.majority_key(m): v for m, v in majority.scores.items()}}

    names = [name] + [chance.majority_key(m) for m in chance.BLESSING_METRICS]
    return _with_matrix(names, values, eval_config, model_name, output_name, example_weighted)


def _gain_over_majority_class(metric: str, name: str, eval_config=None, model_name: str = "",
                              output_name: str = "", example_weighted: bool = False) -> metric_types.MetricComputations:
    def values(matrix) -> Dict[str, float]:
        return {name: chance.METRICS[metric](matrix) - chance.majority_class(matrix).scores[metric]}

    return _with_matrix([name], values, eval_config, model_name, output_name, example_weighted)


class MacroF1(metric_types.Metric):
    """Macro-F1 of the argmax answers (chance.macro_f1)."""

    def __init__(self, name: str = MACRO_F1_KEY):
        super().__init__(metric_util.merge_per_key_computations(_macro_f1), name=name)


class MatthewsCorrelation(metric_types.Metric):
    """Matthews correlation (Gorodkin's R_K) of the argmax answers (chance.matthews_correlation)."""

    def __init__(self, name: str = MATTHEWS_CORRELATION_KEY):
        super().__init__(metric_util.merge_per_key_computations(_matthews_correlation), name=name)


class MajorityClass(metric_types.Metric):
    """The majority-class predictor: `majority_class` (its class id) and `majority_class_<metric>` for each metric."""

    def __init__(self, name: str = chance.MAJORITY_CLASS_KEY):
        super().__init__(metric_util.merge_per_key_computations(_majority_class), name=name)


class GainOverMajorityClass(metric_types.Metric):
    """`<metric>_gain_over_majority_class`: the model's `metric` less the majority-class predictor's; a value
    threshold on it is the margin by which a model must beat that predictor."""

    def __init__(self, metric: str = chance.MACRO_F1, name: Optional[str] = None):
        _check_metric(metric)
        self._metric = metric
        super().__init__(metric_util.merge_per_key_computations(_gain_over_majority_class), metric=metric,
                         name=name)

    def _default_name(self) -> str:
        return chance.gain_key(self._metric)


# blessing metric name -> the class of its MetricConfig
CLASS_NAMES = {chance.ACCURACY: ACCURACY_METRIC, chance.MACRO_F1: MacroF1.__name__,
               chance.MATTHEWS_CORRELATION: MatthewsCorrelation.__name__}


def metric_config(metric_class: type, threshold: Optional[tfma.MetricThreshold] = None,
                  **config) -> tfma.MetricConfig:
    """A MetricConfig naming one of these classes by module, so TFMA imports it wherever it runs."""
    metric_config = tfma.MetricConfig(class_name=metric_class.__name__, module=__name__,
                                      config=json.dumps(config, sort_keys=True) if config else "")
    if threshold is not None:
        metric_config.threshold.CopyFrom(threshold)
    return metric_config


def gate_metric(eval_config: tfma.EvalConfig) -> Optional[str]:
    """The blessing metric of an EvalConfig: what its GainOverMajorityClass compares (None without one)."""
    for metrics_spec in eval_config.metrics_specs:
        for config in metrics_spec.metrics:
            if config.class_name == GainOverMajorityClass.__name__ and config.module == __name__:
                return json.loads(config.config or "{}").get("metric", chance.MACRO_F1)
    return None
