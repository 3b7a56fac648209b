"""The Evaluator's config: the blessing gate's thresholds on the blessing metric (a floor, a margin over the
majority-class predictor, a largest drop against the baseline), per-class metrics left for the model's classes, the
run summary's account of the gate, and (slow) a pipeline whose majority-class model is not pushed."""

import random

import pytest
import tensorflow_model_analysis as tfma
from tfx.utils import proto_utils

from components.class_metrics_evaluator import gate, per_class, tfma_metrics
from pipeline import evaluation, local_runner, sample_data
from pipeline.configs import EvaluationConfig, PipelineConfig
from serving import contract
from text_contract import features


def _thresholds(config: tfma.EvalConfig):
    """{class name (GainOverMajorityClass: with its metric): its MetricThreshold} of the thresholded metrics."""
    found = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            if metric.HasField("threshold"):
                found[metric.class_name + (f"({metric.config})" if metric.config else "")] = metric.threshold
    return found


def test_the_model_is_read_through_the_serving_contract():
    (model_spec,) = evaluation.eval_config(EvaluationConfig()).model_specs
    assert (model_spec.signature_name, model_spec.prediction_key, model_spec.label_key) == (
        contract.EXAMPLES_SIGNATURE, contract.PROBABILITIES_OUTPUT, features.LABEL_IDS)
    assert list(model_spec.preprocessing_function_names) == [contract.TRANSFORM_SIGNATURE]


def test_the_gate_is_a_floor_a_margin_over_the_majority_class_and_a_largest_drop_on_the_blessing_metric():
    config = evaluation.eval_config(EvaluationConfig(min_score=0.7, max_score_drop=0.02, min_gain_over_majority=0.05))
    thresholds = _thresholds(config)
    assert set(thresholds) == {"MacroF1", 'GainOverMajorityClass({"metric": "macro_f1"})'}  # macro_f1 by default
    gate = thresholds["MacroF1"]
    assert gate.value_threshold.lower_bound.value == pytest.approx(0.7)
    assert gate.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert -0.0201 < gate.change_threshold.absolute.value < -0.02
    margin = thresholds['GainOverMajorityClass({"metric": "macro_f1"})']
    assert margin.value_threshold.lower_bound.value == pytest.approx(0.05)
    assert not margin.HasField("change_threshold")
    assert tfma_metrics.gate_metric(config) == "macro_f1"
    # Every model gets all three metrics and the majority-class predictor's, whichever one the gate reads.
    names = {m.class_name for spec in config.metrics_specs for m in spec.metrics}
    assert {evaluation.ACCURACY_METRIC, "MacroF1", "MatthewsCorrelation", "MajorityClass", "ExampleCount"} <= names


@pytest.mark.parametrize("metric, class_name", [("accuracy", evaluation.ACCURACY_METRIC),
                                                ("matthews_correlation", "MatthewsCorrelation")])
def test_the_blessing_metric_chooses_where_the_thresholds_go(metric, class_name):
    config = evaluation.eval_config(EvaluationConfig(blessing_metric=metric, min_score=0.3))
    thresholds = _thresholds(config)
    assert set(thresholds) == {class_name, f'GainOverMajorityClass({{"metric": "{metric}"}})'}
    assert thresholds[class_name].value_threshold.lower_bound.value == pytest.approx(0.3)
    assert tfma_metrics.gate_metric(config) == metric


def test_the_accuracy_only_gate_s_keys_add_accuracy_thresholds_and_the_stricter_wins():
    config = evaluation.eval_config(EvaluationConfig(min_accuracy=0.8, max_accuracy_drop=0.05))
    accuracy = _thresholds(config)[evaluation.ACCURACY_METRIC]
    assert accuracy.value_threshold.lower_bound.value == pytest.approx(0.8)
    assert accuracy.change_threshold.absolute.value == pytest.approx(-0.05)
    assert "MacroF1" in _thresholds(config)  # the blessing metric's own gate stays
    both = _thresholds(evaluation.eval_config(EvaluationConfig(
        blessing_metric="accuracy", min_score=0.6, max_score_drop=0.01, min_accuracy=0.8, max_accuracy_drop=0.05)))
    assert both[evaluation.ACCURACY_METRIC].value_threshold.lower_bound.value == pytest.approx(0.8)
    assert both[evaluation.ACCURACY_METRIC].change_threshold.absolute.value == pytest.approx(-0.01)


def test_per_class_metrics_cover_every_class_of_the_model_whatever_their_number():
    config = evaluation.eval_config(EvaluationConfig())
    # As TFX hands it to the executor: JSON. The empty binarize must survive the trip.
    config = proto_utils.json_to_proto(proto_utils.proto_to_json(config), tfma.EvalConfig())
    (per_class_spec,) = [s for s in config.metrics_specs if s.HasField("binarize")]
    assert {m.class_name for m in per_class_spec.metrics} == {"AUC", "Precision", "Recall", "F1Score"}
    for num_classes in (2, 3, 7):
        filled = per_class.fill_class_ids(config, num_classes)
        (spec,) = [s for s in filled.metrics_specs if s.HasField("binarize")]
        assert list(spec.binarize.class_ids.values) == list(range(num_classes))
    assert not list(per_class_spec.binarize.class_ids.values)  # the pipeline's config is left as it was


def test_tfma_accepts_the_config_with_and_without_a_baseline():
    config = evaluation.eval_config(EvaluationConfig())
    for has_baseline in (False, True):
        updated = tfma.utils.update_eval_config_with_defaults(config, has_baseline=has_baseline, rubber_stamp=True)
        tfma.utils.verify_eval_config(updated)
        keys = tfma.metrics.metric_thresholds_from_metrics_specs(updated.metrics_specs, eval_config=updated)
        assert {k.name for k in keys} == {"macro_f1", "macro_f1_gain_over_majority_class"}
        assert any(k.is_diff for k in keys) == has_baseline  # the drop is only judged against a baseline


def test_the_run_summary_shows_the_majority_class_predictor_and_why_the_model_was_not_blessed():
    report = gate.GateReport(
        blessing_metric="macro_f1", blessed=False, model={"accuracy": 0.7, "macro_f1": 0.41, "matthews_correlation": 0.0},
        majority_class="negative", majority_share=0.7,
        majority={"accuracy": 0.7, "macro_f1": 0.41, "matthews_correlation": 0.0}, baseline={}, example_count=200.0,
        floor=0.0, min_gain=0.02, max_drop=0.01,
        reasons=["macro_f1 0.4100 does not beat the majority-class predictor's 0.4100 + 0.0200"])
    summary = local_runner.RunSummary(
        output_dir="out", span=1, blessed=False, baseline_metrics={},
        metrics={"sparse_categorical_accuracy": 0.7, "macro_f1": 0.41, "majority_class_macro_f1": 0.41,
                 "macro_f1_gain_over_majority_class": 0.0},
        pushed=False, pushed_destination=None, pushed_version=None, seconds=60.0, components=[], gate=report)
    lines = summary.lines()
    assert "eval metrics: macro_f1 0.4100, sparse_categorical_accuracy 0.7000" in lines  # the model's own
    assert "majority-class predictor (always 'negative', 70.0% of 200 eval examples): accuracy 0.7000, " \
        "macro_f1 0.4100, matthews_correlation 0.0000" in lines
    assert "not blessed: macro_f1 0.4100 does not beat the majority-class predictor's 0.4100 + 0.0200" in lines
    assert lines[-1] == "pushed: no (the serving directory is unchanged)"
    assert gate.GateReport.from_json(report.to_json()) == report


@pytest.mark.slow
def test_a_pipeline_whose_model_answers_the_majority_class_pushes_nothing(tmp_path):
    # Unbalanced labels the text does not predict: the model can learn only the prior, which the old gate
    # (an accuracy floor of 0.6, kept here through its key) would have blessed at about 85% accuracy.
    rng = random.Random(3)
    for name, count in (("train", 400), ("dev", 120)):
        rows = [(text, sample_data.NEGATIVE if rng.random() < 0.85 else sample_data.POSITIVE)
                for text, _ in sample_data.generate_rows(count, seed=count)]
        sample_data.write_tsv(str(tmp_path / "data" / "span-1" / f"{name}.tsv"), rows)
    config = PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": str(tmp_path / "out"),
        "orchestration.beam_num_workers": 1, "serving.serving_dir": str(tmp_path / "serving"),
        "vocabulary.size": 300, "training.train_steps": 60, "evaluation.min_accuracy": 0.6})
    summary = local_runner.run(config, report=lambda line: None)
    assert summary.blessed is False and not summary.pushed, summary.lines()
    assert not (tmp_path / "serving").exists() or not any((tmp_path / "serving").rglob("saved_model.pb"))
    assert summary.gate.majority_class == sample_data.NEGATIVE and summary.gate.majority_share > 0.75
    # Accuracy passed its floor: macro-F1 (below the floor, or not beating the constant) refused the model.
    assert summary.metrics[evaluation.ACCURACY_KEY] >= 0.6, summary.lines()
    assert summary.gate.reasons and all(r.startswith("macro_f1 ") for r in summary.gate.reasons), summary.lines()
    assert any(line.startswith("not blessed: macro_f1 ") for line in summary.lines())
