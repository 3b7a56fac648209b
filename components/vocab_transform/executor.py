"""VocabTransform's executor: TFX's Transform executor, told where the vocabulary artifact lives.

Transform's `custom_config` is fixed when the pipeline is compiled, but the SentencePiece model's path is
only known at run time (it is the SentencePieceVocab artifact's URI). This executor takes that artifact as
an extra input, writes its `spm.model` path into custom_config under the Transform module's own key
(`trainer.preprocessing.SENTENCEPIECE_MODEL_PATH_KEY`), checks that the vocabulary was trained with the
same case folding the Transform applies, and runs TFX's Transform unchanged. Afterwards it copies the
vocabulary into the transform graph's directory (`trainer.data_contract.TRANSFORM_VOCABULARY_FILE`), so the
Trainer finds the very vocabulary the Transform embedded (for the export's metadata and the encoder's
vocabulary size) without another input.
"""

import json
import os
from typing import Any, Dict, List

import tensorflow as tf
from absl import logging
from tfx import types
from tfx.components.transform import executor as transform_executor
from tfx.types import artifact_utils, standard_component_specs

from components import artifacts as artifact_lib
from text_contract.features import TRANSFORM_VOCABULARY_FILE
from text_contract.transform_options import LOWER_CASE_KEY, SENTENCEPIECE_MODEL_PATH_KEY

SENTENCEPIECE_MODEL_KEY = "sentencepiece_model"


class Executor(transform_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        input_dict = dict(input_dict)
        vocabulary = artifact_utils.get_single_instance(input_dict.pop(SENTENCEPIECE_MODEL_KEY))
        model_path = artifact_lib.model_path(vocabulary)
        if not tf.io.gfile.exists(model_path):
            raise ValueError(f"the SentencePieceModel artifact at {vocabulary.uri} has no {artifact_lib.MODEL_FILE}")
        key = standard_component_specs.CUSTOM_CONFIG_KEY
        custom_config = json.loads(exec_properties.get(key) or "null") or {}
        summary = artifact_lib.read_summary(vocabulary)
        lower_case = bool(custom_config.get(LOWER_CASE_KEY, False))
        if "lower_case" in summary and bool(summary["lower_case"]) != lower_case:
            raise ValueError(
                f"the vocabulary was trained with lower_case={summary['lower_case']} but the Transform's "
                f"custom_config has {LOWER_CASE_KEY}={lower_case}: pieces would not match the text")
        custom_config[SENTENCEPIECE_MODEL_PATH_KEY] = model_path
        exec_properties = {**exec_properties, key: json.dumps(custom_config)}
        logging.info("VocabTransform: preprocessing with the vocabulary %s", model_path)
        super().Do(input_dict, output_dict, exec_properties)

        graph_dir = artifact_utils.get_single_uri(output_dict[standard_component_specs.TRANSFORM_GRAPH_KEY])
        destination = os.path.join(graph_dir, TRANSFORM_VOCABULARY_FILE)
        tf.io.gfile.makedirs(os.path.dirname(destination))
        tf.io.gfile.copy(model_path, destination, overwrite=True)
