"""ClassMetricsEvaluator: TFX's Evaluator with per-class metrics for each class the candidate model has, and a
blessing gate that a constant (majority-class) predictor never passes."""

import json
import os

import pytest
import tensorflow_model_analysis as tfma
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils, proto_utils

from components.class_metrics_evaluator import gate, per_class, spec, tfma_metrics
from components.serving_pusher import executor as pusher_executor
from pipeline import evaluation as pipeline_evaluation  # the pipeline's own config
from pipeline.configs import EvaluationConfig
from tests.components.class_metrics_evaluator import support
from tests.serving.support import tiny_task
from tests.serving.support.exports import tiny_export
from text_contract import features


def test_label_count_reads_the_model_s_label_vocabulary(tmp_path):
    assert per_class.label_count(tiny_export()) == len(tiny_task.LABELS)
    assert sorted(per_class.label_names(tiny_export())) == sorted(tiny_task.LABELS)  # in TFT's vocabulary order
    (tmp_path / per_class.ASSETS_DIR).mkdir()
    (tmp_path / per_class.ASSETS_DIR / features.LABEL_VOCABULARY).write_text("neutral\nneg\npos\n")
    assert per_class.label_count(str(tmp_path)) == 3
    with pytest.raises(ValueError, match="no assets/label_vocabulary"):
        per_class.label_count(str(tmp_path / "elsewhere"))


def test_the_executor_evaluates_every_class_of_an_exported_model_and_reports_the_gate(tmp_path):
    examples = support.examples_artifact(str(tmp_path / "examples"), tiny_task.sentences(24, seed=5))
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    os.makedirs(model.uri)
    os.symlink(tiny_export(), os.path.join(model.uri, "Format-Serving"))
    eval_config = pipeline_evaluation.eval_config(EvaluationConfig(min_score=0.0))
    evaluation, _ = support.evaluate(str(tmp_path), model, examples, eval_config)

    (record,) = list(tfma.load_metrics(evaluation.uri))
    class_ids, names = set(), set()
    for key_and_value in record.metric_keys_and_values:
        sub_key = key_and_value.key.sub_key
        if sub_key.HasField("class_id"):
            class_ids.add((key_and_value.key.name, sub_key.class_id.value))
        else:
            names.add(key_and_value.key.name)
    assert class_ids == {(name, c) for name in gate.PER_CLASS_METRICS for c in range(len(tiny_task.LABELS))}
    assert {tfma_metrics.ACCURACY_KEY, "macro_f1", "matthews_correlation", "majority_class",
            "majority_class_macro_f1", "macro_f1_gain_over_majority_class"} <= names
    report = gate.read_report(evaluation.uri)
    # tiny_task alternates its labels: 12 of each, the majority is the lowest id at half.
    majority = per_class.label_names(tiny_export())[0]
    assert (report.majority_class, report.majority_share, report.example_count) == (majority, 0.5, 24)
    assert report.majority["matthews_correlation"] == 0.0
    assert set(report.model) == {"accuracy", "macro_f1", "matthews_correlation"}
    assert set(report.per_class) == set(per_class.label_names(tiny_export()))  # every class, by name
    assert all(set(values) == set(gate.PER_CLASS_METRICS) for values in report.per_class.values())


@pytest.fixture(scope="module")
def unbalanced(tmp_path_factory):
    """18 "neg" and 6 "pos" eval rows (the majority-class predictor is right 75% of the time), a model that
    always answers "neg" and one that reads the words."""
    root = tmp_path_factory.mktemp("gate")
    examples = support.examples_artifact(str(root / "examples"), support.unbalanced_rows(18, 6))
    constant = support.rule_model(str(root / "constant"), answer="neg")
    return root, examples, constant, support.rule_model(str(root / "words"))


def test_a_constant_predictor_is_not_blessed_even_above_the_accuracy_floor_and_is_not_pushed(unbalanced):
    root, examples, constant, _ = unbalanced
    config = EvaluationConfig(blessing_metric="accuracy", min_score=0.6)
    evaluation, blessing = support.evaluate(str(root / "accuracy"), constant, examples,
                                            pipeline_evaluation.eval_config(config))
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    report = gate.read_report(evaluation.uri)
    assert report.model["accuracy"] == pytest.approx(0.75)  # above the floor of 0.6: only the margin refuses it
    assert (report.majority_class, report.majority_share) == ("neg", pytest.approx(0.75))
    assert report.majority == pytest.approx({"accuracy": 0.75, "macro_f1": 6 / 7 / 2, "matthews_correlation": 0.0})
    assert report.reasons == ["accuracy 0.7500 does not beat the majority-class predictor's 0.7500 + 0.0200"]
    assert "not blessed: accuracy 0.7500 does not beat" in report.lines()[-1]
    # per class: "neg" always answered, "pos" never (its F1 is GLUE's F1 of a binary task)
    assert set(report.per_class) == {"neg", "pos"}
    assert report.per_class["neg"]["precision"] == pytest.approx(0.75)
    assert report.per_class["neg"]["recall"] == pytest.approx(1.0)
    assert report.per_class["neg"]["f1_score"] == pytest.approx(2 * 0.75 / 1.75)
    assert report.per_class["pos"]["recall"] == 0.0 and report.per_class["pos"]["f1_score"] == 0.0
    assert "per class: 'neg' f1_score 0.8571, precision 0.7500, recall 1.0000" in "\n".join(report.lines())
    # The figures are also the artifacts' properties.
    assert evaluation.get_string_custom_property(spec.BLESSING_METRIC_PROPERTY) == "accuracy"
    assert evaluation.get_string_custom_property(spec.MAJORITY_CLASS_PROPERTY) == "neg"
    assert evaluation.get_float_custom_property("majority_class_accuracy") == pytest.approx(0.75)
    assert "does not beat" in blessing.get_string_custom_property(spec.GATE_REASON_PROPERTY)

    # What the pipeline's Pusher does with that blessing: nothing reaches the serving directory.
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(root / "pushed")
    destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
        base_directory=str(root / "serving")))
    pusher_executor.Executor().Do(
        {standard_component_specs.MODEL_KEY: [constant], standard_component_specs.MODEL_BLESSING_KEY: [blessing]},
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {standard_component_specs.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination),
         standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(None)})
    assert pushed.get_int_custom_property("pushed") == 0
    assert not (root / "serving").exists()


def test_a_model_that_beats_the_majority_class_is_blessed_and_the_report_says_why(unbalanced):
    root, examples, _, words = unbalanced
    evaluation, blessing = support.evaluate(str(root / "words-run"), words, examples,
                                            pipeline_evaluation.eval_config(EvaluationConfig()))
    assert blessing.get_int_custom_property("blessed") == 1
    report = gate.read_report(evaluation.uri)
    assert report.blessing_metric == "macro_f1"  # the default
    assert report.model == pytest.approx({"accuracy": 1.0, "macro_f1": 1.0, "matthews_correlation": 1.0})
    assert {label: values["f1_score"] for label, values in report.per_class.items()} == {"neg": 1.0, "pos": 1.0}
    assert report.reasons == [] and blessing.get_string_custom_property(spec.GATE_REASON_PROPERTY) == ""
    assert report.lines()[-1] == "blessed: yes (macro_f1 1.0000 beats the majority-class predictor's 0.4286 by 0.5714)"
    with open(gate.report_path(evaluation.uri)) as handle:
        assert json.load(handle)["majority_class"] == "neg"  # a plain JSON file beside TFMA's output


def test_against_a_better_baseline_every_failed_threshold_is_a_reason(unbalanced):
    root, examples, constant, words = unbalanced
    evaluation, blessing = support.evaluate(str(root / "baseline-run"), constant, examples,
                                            pipeline_evaluation.eval_config(EvaluationConfig()), baseline=words)
    assert blessing.get_int_custom_property("blessed") == 0
    report = gate.read_report(evaluation.uri)
    assert report.baseline == pytest.approx({"accuracy": 1.0, "macro_f1": 1.0, "matthews_correlation": 1.0})
    assert sorted(report.reasons) == sorted([
        "macro_f1 0.4286 is below the floor 0.6000",
        "macro_f1 0.4286 does not beat the majority-class predictor's 0.4286 + 0.0200",
        "macro_f1 0.4286 is 0.5714 below the last blessed model's 1.0000 (at most 0.0100 allowed)",
    ])
    assert any(line.startswith("last blessed model: accuracy 1.0000") for line in report.lines())
