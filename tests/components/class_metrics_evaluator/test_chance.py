"""Accuracy, macro-F1, Matthews correlation and the majority-class predictor from a confusion matrix: numbers
checked by hand, against scikit-learn, and as TFMA computes them from its own confusion matrix."""

import math

import numpy as np
import pytest
from tensorflow_model_analysis.metrics import metric_specs
from sklearn import metrics as sklearn_metrics

from components.class_metrics_evaluator import chance, tfma_metrics
from tests.components.class_metrics_evaluator import support

_matrix = support.matrix


# 3 classes, 10 examples: 4, 4 and 2 of each; 7 right.
THREE_CLASSES = _matrix([[3, 1, 0],
                         [1, 2, 1],
                         [0, 0, 2]])
# Binary, unbalanced 8:2; as right as always answering class 0 (8 of 10) but it finds one of the two 1s.
BINARY = _matrix([[7, 1],
                  [1, 1]])


def test_three_classes_by_hand():
    assert chance.accuracy(THREE_CLASSES) == pytest.approx(0.7)
    # F1 = 2TP / (actual + predicted): 6/8, 4/7, 4/5.
    assert chance.macro_f1(THREE_CLASSES) == pytest.approx((6 / 8 + 4 / 7 + 4 / 5) / 3)
    # R_K = (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2) (s^2 - sum t_k^2)), t = (4, 4, 2), p = (4, 3, 3).
    assert chance.matthews_correlation(THREE_CLASSES) == pytest.approx(36 / math.sqrt(66 * 64))
    majority = chance.majority_class(THREE_CLASSES)
    assert (majority.class_id, majority.share) == (0, pytest.approx(0.4))  # a tie of 4 and 4: the lower id
    # Always 0: F1 of class 0 is 2*4/(4+10), the other two classes 0.
    assert majority.scores == pytest.approx({"accuracy": 0.4, "macro_f1": 8 / 14 / 3, "matthews_correlation": 0.0})


def test_binary_unbalanced_by_hand_accuracy_ties_the_constant_the_others_do_not():
    assert chance.accuracy(BINARY) == pytest.approx(0.8)
    assert chance.macro_f1(BINARY) == pytest.approx((14 / 16 + 2 / 4) / 2)
    # Binary MCC: (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (1*7 - 1*1) / sqrt(2*2*8*8).
    assert chance.matthews_correlation(BINARY) == pytest.approx(6 / 16)
    majority = chance.majority_class(BINARY)
    assert (majority.class_id, majority.share) == (0, pytest.approx(0.8))
    assert majority.scores == pytest.approx({"accuracy": 0.8, "macro_f1": 16 / 18 / 2, "matthews_correlation": 0.0})
    assert chance.accuracy(BINARY) - majority.scores["accuracy"] == pytest.approx(0.0)
    assert chance.macro_f1(BINARY) - majority.scores["macro_f1"] > 0.2


def test_degenerate_matrices():
    # Every answer is the minority class: MCC's 0/0 is 0, the never-answered class has F1 0.
    always_one = _matrix([[0, 8], [0, 2]])
    assert chance.accuracy(always_one) == pytest.approx(0.2)
    assert chance.macro_f1(always_one) == pytest.approx((0 + 4 / 12) / 2)
    assert chance.matthews_correlation(always_one) == 0.0
    # A constant predictor never beats the majority-class one, on any metric.
    for name, metric in chance.METRICS.items():
        assert metric(always_one) <= chance.majority_class(always_one).scores[name]
    # Every label is one class: MCC is 0 whatever the answers; macro-F1 counts the answered class too.
    one_label = {(0, 0): 6.0, (0, 1): 4.0}
    assert chance.matthews_correlation(one_label) == 0.0
    assert chance.macro_f1(one_label) == pytest.approx((12 / 16 + 0) / 2)
    assert chance.majority_class(one_label).scores == pytest.approx(
        {"accuracy": 1.0, "macro_f1": 1.0, "matthews_correlation": 0.0})
    # Perfect answers.
    assert {name: m(_matrix([[3, 0], [0, 1]])) for name, m in chance.METRICS.items()} == pytest.approx(
        {"accuracy": 1.0, "macro_f1": 1.0, "matthews_correlation": 1.0})
    # An example without an answer (TFMA's -1) is wrong for every class.
    assert chance.accuracy({(0, 0): 1.0, (1, -1): 1.0}) == 0.5
    assert chance.macro_f1({(0, 0): 1.0, (1, -1): 1.0}) == pytest.approx((1.0 + 0.0) / 2)
    with pytest.raises(ValueError, match="empty confusion matrix"):
        chance.macro_f1({})


def test_the_same_as_scikit_learn_on_random_answers():
    rng = np.random.default_rng(3)
    for num_classes in (2, 3, 5):
        weights = np.linspace(1, 3, num_classes)  # unbalanced
        labels = rng.choice(num_classes, size=200, p=weights / weights.sum())
        answers = np.where(rng.random(200) < 0.6, labels, rng.integers(0, num_classes, 200))
        matrix = {}
        for a, p in zip(labels, answers):
            matrix[(int(a), int(p))] = matrix.get((int(a), int(p)), 0.0) + 1.0
        assert chance.accuracy(matrix) == pytest.approx(sklearn_metrics.accuracy_score(labels, answers))
        assert chance.macro_f1(matrix) == pytest.approx(sklearn_metrics.f1_score(labels, answers, average="macro"))
        assert chance.matthews_correlation(matrix) == pytest.approx(sklearn_metrics.matthews_corrcoef(labels, answers))


def test_tfma_metrics_compute_the_same_from_tfma_s_argmax_confusion_matrix():
    # BINARY as answers: 7 right 0s, a 0 answered 1, a 1 answered 0, a right 1; probabilities, not ids.
    examples = [(0, [0.9, 0.1])] * 7 + [(0, [0.3, 0.7]), (1, [0.6, 0.4]), (1, [0.45, 0.55])]
    assert support.tfma_values(tfma_metrics.MacroF1(), examples) == pytest.approx({"macro_f1": chance.macro_f1(BINARY)})
    assert support.tfma_values(tfma_metrics.MatthewsCorrelation(), examples) == pytest.approx(
        {"matthews_correlation": 6 / 16})
    assert support.tfma_values(tfma_metrics.MajorityClass(), examples) == pytest.approx({
        "majority_class": 0.0, "majority_class_accuracy": 0.8, "majority_class_macro_f1": 16 / 18 / 2,
        "majority_class_matthews_correlation": 0.0})
    assert support.tfma_values(tfma_metrics.GainOverMajorityClass(metric="accuracy"), examples) == pytest.approx(
        {"accuracy_gain_over_majority_class": 0.0})
    assert support.tfma_values(tfma_metrics.GainOverMajorityClass(), examples) == pytest.approx(
        {"macro_f1_gain_over_majority_class": (14 / 16 + 2 / 4) / 2 - 16 / 18 / 2})


def test_tfma_metric_names_and_configs():
    assert tfma_metrics.GainOverMajorityClass(metric="matthews_correlation").name == \
        "matthews_correlation_gain_over_majority_class"
    with pytest.raises(ValueError, match="metric must be one of"):
        tfma_metrics.GainOverMajorityClass(metric="auc")
    config = tfma_metrics.metric_config(tfma_metrics.GainOverMajorityClass, metric="accuracy")
    assert (config.class_name, config.module) == ("GainOverMajorityClass", tfma_metrics.__name__)
    # As TFMA reads a MetricConfig where it runs: the class from its module, the name from its config.
    assert metric_specs.metric_instance(config).name == "accuracy_gain_over_majority_class"
    assert metric_specs.metric_instance(tfma_metrics.metric_config(tfma_metrics.MacroF1)).name == "macro_f1"
