"""ClassMetricsEvaluator's executor: fills in the per-class MetricsSpecs (spec.py), runs TFX's Evaluator, then
records the blessing gate's report beside TFMA's output (gate.py)."""

from typing import Any, Dict, List

import tensorflow_model_analysis as tfma
from absl import logging
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils, proto_utils

from components.class_metrics_evaluator import chance, gate, per_class, spec


class Executor(evaluator_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        raw = exec_properties.get(spec.EVAL_CONFIG_KEY)
        if not (raw and input_dict.get(spec.MODEL_KEY)):
            super().Do(input_dict, output_dict, exec_properties)
            return
        model_uri = artifact_utils.get_single_uri(input_dict[spec.MODEL_KEY])
        labels = per_class.label_names(path_utils.serving_model_path(model_uri))
        eval_config = per_class.fill_class_ids(proto_utils.json_to_proto(raw, tfma.EvalConfig()), len(labels))
        logging.info("ClassMetricsEvaluator: per-class metrics for the model's %d classes", len(labels))
        exec_properties = {**exec_properties, spec.EVAL_CONFIG_KEY: proto_utils.proto_to_json(eval_config)}
        super().Do(input_dict, output_dict, exec_properties)

        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        report = gate.build_report(eval_config, evaluation.uri, labels)
        if report is None:
            return
        gate.write_report(report, evaluation.uri)
        # The figures also as properties, for ML Metadata queries and UIs that do not open the artifact.
        evaluation.set_string_custom_property(spec.BLESSING_METRIC_PROPERTY, report.blessing_metric)
        evaluation.set_string_custom_property(spec.MAJORITY_CLASS_PROPERTY, report.majority_class)
        for name in chance.BLESSING_METRICS:
            if name in report.majority:
                evaluation.set_float_custom_property(chance.majority_key(name), report.majority[name])
        if output_dict.get(spec.BLESSING_KEY):
            blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])
            blessing.set_string_custom_property(spec.GATE_REASON_PROPERTY, "; ".join(report.reasons))
        for line in report.lines():
            logging.info("ClassMetricsEvaluator: %s", line)
