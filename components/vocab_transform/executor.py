"""VocabTransform's executor, the TFX glue: TFX's Transform executor, told where the vocabulary artifact lives.

It takes the SentencePieceModel artifact as an extra input, puts its `spm.model` path into the Transform's
custom_config and runs TFX's Transform unchanged; then it copies the vocabulary into the transform graph
(`vocabulary` holds both steps and says why).
"""

import json
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.transform import executor as transform_executor
from tfx.types import artifact_utils

from components import artifacts
from components.vocab_transform import spec, vocabulary


class Executor(transform_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        input_dict = dict(input_dict)
        model_artifact = artifact_utils.get_single_instance(input_dict.pop(spec.SENTENCEPIECE_MODEL_KEY))
        model_path = artifacts.require_model_path(model_artifact)
        custom_config = json.loads(exec_properties.get(spec.CUSTOM_CONFIG_KEY) or "null") or {}
        custom_config = vocabulary.with_vocabulary(custom_config, model_path, artifacts.read_summary(model_artifact))
        exec_properties = {**exec_properties, spec.CUSTOM_CONFIG_KEY: json.dumps(custom_config)}
        logging.info("VocabTransform: preprocessing with the vocabulary %s", model_path)
        super().Do(input_dict, output_dict, exec_properties)

        graph_dir = artifact_utils.get_single_uri(output_dict[spec.TRANSFORM_GRAPH_KEY])
        vocabulary.copy_to_transform_graph(model_path, graph_dir)
