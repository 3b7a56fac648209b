"""VocabTransform's spec: TFX's TransformSpec with one more input, the SentencePieceModel artifact.

Every other input, output and parameter is TFX's Transform's (`standard_component_specs`' keys).
"""

from tfx.types import standard_component_specs
from tfx.types.component_spec import ChannelParameter

from components.artifacts import SentencePieceModel

SENTENCEPIECE_MODEL_KEY = "sentencepiece_model"
CUSTOM_CONFIG_KEY = standard_component_specs.CUSTOM_CONFIG_KEY
TRANSFORM_GRAPH_KEY = standard_component_specs.TRANSFORM_GRAPH_KEY
EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY


class VocabTransformSpec(standard_component_specs.TransformSpec):
    INPUTS = {
        **standard_component_specs.TransformSpec.INPUTS,
        SENTENCEPIECE_MODEL_KEY: ChannelParameter(type=SentencePieceModel),
    }
