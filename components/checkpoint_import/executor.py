"""CheckpointImport's executor, the TFX glue: the source path in, `importing.import_checkpoint` into the Model
artifact's serving directory (`<uri>/Format-Serving`: what TFX hands a Trainer as `fn_args.base_model`)."""

from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.checkpoint_import import importing, spec


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        source = exec_properties[spec.SOURCE_KEY]
        output = artifact_utils.get_single_instance(output_dict[spec.MODEL_KEY])
        logging.info("CheckpointImport: importing %s", source)
        destination = path_utils.serving_model_path(output.uri)
        source_format = importing.import_checkpoint(source, destination)
        output.set_string_custom_property("source", source)
        output.set_string_custom_property("source_format", source_format)
        logging.info("CheckpointImport: %s (%s) imported into %s", source, source_format, destination)
