"""ClassMetricsEvaluator's executor: fills in the per-class MetricsSpecs (spec.py), then runs TFX's Evaluator."""

from typing import Any, Dict, List

import tensorflow_model_analysis as tfma
from absl import logging
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils, proto_utils

from components.class_metrics_evaluator import per_class, spec


class Executor(evaluator_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        raw = exec_properties.get(spec.EVAL_CONFIG_KEY)
        if raw and input_dict.get(spec.MODEL_KEY):
            model_uri = artifact_utils.get_single_uri(input_dict[spec.MODEL_KEY])
            num_classes = per_class.label_count(path_utils.serving_model_path(model_uri))
            eval_config = per_class.fill_class_ids(proto_utils.json_to_proto(raw, tfma.EvalConfig()), num_classes)
            logging.info("ClassMetricsEvaluator: per-class metrics for the model's %d classes", num_classes)
            exec_properties = {**exec_properties, spec.EVAL_CONFIG_KEY: proto_utils.proto_to_json(eval_config)}
        super().Do(input_dict, output_dict, exec_properties)
