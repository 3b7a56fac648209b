"""What a classifier scores, and what the majority-class predictor scores, from a confusion matrix.

Plain Python (the pipeline's config imports the metric names at config time; TFMA's metrics in
`tfma_metrics.py` call these on TFMA's own multi-class confusion matrix). A confusion matrix is a mapping
`{(actual_class_id, predicted_class_id): weight}`; TFMA writes -1 as the predicted id of an example
without a prediction, which counts as wrong for every class.

- accuracy: the weight on the diagonal over the total;
- macro-F1: the mean of the per-class F1 over the classes in the labels or the predictions (scikit-learn's
  `f1_score(average="macro")`; a class never predicted and never right has F1 0);
- Matthews correlation: Gorodkin's R_K for K classes (scikit-learn's `matthews_corrcoef`), 0 when every
  example gets one class or every label is one class (the formula's 0/0);
- the majority-class predictor: always answers the most frequent actual class (the lowest id on a tie,
  which scores the same). Its scores come from the same functions on its own confusion matrix, so they
  cannot disagree with the model's: accuracy = that class's share, MCC = 0, macro-F1 = 2p/(1+p)/K for a
  share p over K classes in the labels.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, Mapping, Tuple

ACCURACY = "accuracy"
MACRO_F1 = "macro_f1"
MATTHEWS_CORRELATION = "matthews_correlation"
BLESSING_METRICS = (ACCURACY, MACRO_F1, MATTHEWS_CORRELATION)  # what `evaluation.blessing_metric` may name

Matrix = Mapping[Tuple[int, int], float]

# The figures' keys in TFMA's output (tfma_metrics writes them; the gate's report and the run summary read them).
MAJORITY_CLASS_KEY = "majority_class"  # the class id the majority-class predictor answers
_GAIN_SUFFIX = "_gain_over_majority_class"


def majority_key(metric: str) -> str:
    """The key of the majority-class predictor's value of `metric` (a name of BLESSING_METRICS)."""
    return f"{MAJORITY_CLASS_KEY}_{metric}"


def gain_key(metric: str) -> str:
    """The key of `metric`'s gain over the majority-class predictor (the model's value less the predictor's)."""
    return f"{metric}{_GAIN_SUFFIX}"


def is_majority_figure(key: str) -> bool:
    """Whether a key of TFMA's output is the majority-class predictor's or a gain over it, not the model's own."""
    return key.startswith(MAJORITY_CLASS_KEY) or key.endswith(_GAIN_SUFFIX)


def _totals(matrix: Matrix) -> Tuple[Dict[int, float], Dict[int, float], float, float]:
    """(per actual class, per predicted class, correct, total) weights."""
    actual: Dict[int, float] = {}
    predicted: Dict[int, float] = {}
    correct = total = 0.0
    for (actual_id, predicted_id), weight in matrix.items():
        actual[actual_id] = actual.get(actual_id, 0.0) + weight
        predicted[predicted_id] = predicted.get(predicted_id, 0.0) + weight
        total += weight
        if actual_id == predicted_id:
            correct += weight
    return actual, predicted, correct, total


def _check(matrix: Matrix) -> None:
    if not matrix or sum(matrix.values()) <= 0:
        raise ValueError("an empty confusion matrix (no eval examples) has no scores")


def accuracy(matrix: Matrix) -> float:
    _check(matrix)
    _, _, correct, total = _totals(matrix)
    return correct / total


def macro_f1(matrix: Matrix) -> float:
    _check(matrix)
    actual, predicted, _, _ = _totals(matrix)
    classes = {c for c, w in actual.items() if w > 0} | {c for c, w in predicted.items() if c >= 0 and w > 0}
    scores = []
    for c in sorted(classes):
        true_positive = matrix.get((c, c), 0.0)
        # 2TP / (2TP + FP + FN), with FP + TP = predicted[c] and FN + TP = actual[c].
        denominator = actual.get(c, 0.0) + predicted.get(c, 0.0)
        scores.append(2.0 * true_positive / denominator if denominator > 0 else 0.0)
    return sum(scores) / len(scores)


def matthews_correlation(matrix: Matrix) -> float:
    _check(matrix)
    actual, predicted, correct, total = _totals(matrix)
    covariance = correct * total - sum(actual.get(c, 0.0) * w for c, w in predicted.items())
    predicted_spread = total * total - sum(w * w for w in predicted.values())
    actual_spread = total * total - sum(w * w for w in actual.values())
    if predicted_spread <= 0 or actual_spread <= 0:
        return 0.0
    return covariance / math.sqrt(predicted_spread * actual_spread)


METRICS: Dict[str, Callable[[Matrix], float]] = {
    ACCURACY: accuracy, MACRO_F1: macro_f1, MATTHEWS_CORRELATION: matthews_correlation}


@dataclasses.dataclass(frozen=True)
class MajorityClass:
    """The majority-class predictor of an eval set: the class it answers, that class's share, its scores."""

    class_id: int
    share: float
    scores: Dict[str, float]  # {metric name of BLESSING_METRICS: value}


def majority_matrix(matrix: Matrix) -> Dict[Tuple[int, int], float]:
    """The confusion matrix of always answering the most frequent actual class of `matrix`."""
    _check(matrix)
    actual, _, _, _ = _totals(matrix)
    majority = max(sorted(actual), key=lambda c: actual[c])  # max keeps the first (lowest id) of a tie
    return {(c, majority): w for c, w in actual.items() if w > 0}


def majority_class(matrix: Matrix) -> MajorityClass:
    """The majority-class predictor of the eval set whose confusion matrix (any model's) is `matrix`."""
    constant = majority_matrix(matrix)
    (class_id,) = {predicted for _, predicted in constant}
    return MajorityClass(class_id=class_id, share=accuracy(constant),
                         scores={name: metric(constant) for name, metric in METRICS.items()})
