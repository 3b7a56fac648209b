"""The Evaluator's config: the blessing gate's thresholds, and per-class metrics left for the model's classes."""

import tensorflow_model_analysis as tfma
from tfx.utils import proto_utils

from components.class_metrics_evaluator import per_class
from pipeline import evaluation
from pipeline.configs import EvaluationConfig
from serving import contract
from text_contract import features


def test_the_gate_is_a_floor_and_a_largest_drop_against_the_baseline():
    config = evaluation.eval_config(EvaluationConfig(min_accuracy=0.7, max_accuracy_drop=0.02))
    (model_spec,) = config.model_specs
    assert (model_spec.signature_name, model_spec.prediction_key, model_spec.label_key) == (
        contract.EXAMPLES_SIGNATURE, contract.PROBABILITIES_OUTPUT, features.LABEL_IDS)
    assert list(model_spec.preprocessing_function_names) == [contract.TRANSFORM_SIGNATURE]
    (accuracy,) = [m for spec in config.metrics_specs for m in spec.metrics if m.class_name == evaluation.ACCURACY_METRIC]
    assert accuracy.threshold.value_threshold.lower_bound.value == 0.7
    assert accuracy.threshold.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert -0.0201 < accuracy.threshold.change_threshold.absolute.value < -0.02


def test_per_class_metrics_cover_every_class_of_the_model_whatever_their_number():
    config = evaluation.eval_config(EvaluationConfig())
    # As TFX hands it to the executor: JSON. The empty binarize must survive the trip.
    config = proto_utils.json_to_proto(proto_utils.proto_to_json(config), tfma.EvalConfig())
    (per_class_spec,) = [s for s in config.metrics_specs if s.HasField("binarize")]
    assert {m.class_name for m in per_class_spec.metrics} == {"AUC", "Precision", "Recall"}
    for num_classes in (2, 3, 7):
        filled = per_class.fill_class_ids(config, num_classes)
        (spec,) = [s for s in filled.metrics_specs if s.HasField("binarize")]
        assert list(spec.binarize.class_ids.values) == list(range(num_classes))
    assert not list(per_class_spec.binarize.class_ids.values)  # the pipeline's config is left as it was
