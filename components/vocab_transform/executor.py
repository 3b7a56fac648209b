"""VocabTransform's executor, the TFX glue: TFX's Transform executor, told where the vocabulary artifact lives.

It takes the SentencePieceModel artifact as an extra input, puts its `spm.model` path into the Transform's
custom_config and runs TFX's Transform unchanged; then it copies the vocabulary into the transform graph
(`vocabulary` holds both steps and says why). With a null max_seq_length it first derives the length from the
examples (`sequence_length`) and records it on the transform graph artifact. The custom_config the Transform ran
with is left in the transform graph too (`vocabulary.record_options`).
"""

import json
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.transform import executor as transform_executor
from tfx.types import artifact_utils

from components import artifacts
from components.vocab_transform import sequence_length, spec, vocabulary
from text_contract.transform_options import MAX_SEQ_LENGTH_KEY, TransformOptions


class Executor(transform_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        input_dict = dict(input_dict)
        model_artifact = artifact_utils.get_single_instance(input_dict.pop(spec.SENTENCEPIECE_MODEL_KEY))
        model_path = artifacts.require_model_path(model_artifact)
        custom_config = json.loads(exec_properties.get(spec.CUSTOM_CONFIG_KEY) or "null") or {}
        custom_config = vocabulary.with_vocabulary(custom_config, model_path, artifacts.read_summary(model_artifact))
        options = TransformOptions.from_custom_config(custom_config, require_vocabulary=False)
        if options.max_seq_length is None:
            derived = sequence_length.derive_for_examples(options, input_dict[spec.EXAMPLES_KEY])
            logging.info("VocabTransform: %s", derived.describe())
            custom_config[MAX_SEQ_LENGTH_KEY] = derived.max_seq_length
            graph = artifact_utils.get_single_instance(output_dict[spec.TRANSFORM_GRAPH_KEY])
            graph.set_int_custom_property(MAX_SEQ_LENGTH_KEY, derived.max_seq_length)
            graph.set_string_custom_property("derived_max_seq_length", derived.describe())
        exec_properties = {**exec_properties, spec.CUSTOM_CONFIG_KEY: json.dumps(custom_config)}
        logging.info("VocabTransform: preprocessing with the vocabulary %s", model_path)
        super().Do(input_dict, output_dict, exec_properties)

        graph_dir = artifact_utils.get_single_uri(output_dict[spec.TRANSFORM_GRAPH_KEY])
        vocabulary.copy_to_transform_graph(model_path, graph_dir)
        vocabulary.record_options(custom_config, graph_dir)
