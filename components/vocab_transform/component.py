"""VocabTransform: TFX's Transform component with one more input, the SentencePieceVocab artifact."""

import json
from typing import Any, Dict, Optional

from tfx import types
from tfx.components.transform.component import Transform
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import transform_pb2
from tfx.types import standard_artifacts

from components.vocab_transform import executor, spec


class VocabTransform(Transform):
    """Transform whose preprocessing_fn gets the vocabulary artifact's spm.model path in custom_config.

    ```
    transform = VocabTransform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        sentencepiece_model=vocab.outputs["sentencepiece_model"],
        preprocessing_fn="text_contract.transform.preprocessing_fn",
        custom_config=TransformOptions(text_features=("text",), label_feature="label",
                                       max_seq_length=64).to_custom_config())
    ```

    `TransformOptions` is `text_contract.transform_options`'s; the executor adds the vocabulary's path to its
    custom_config. Everything else is TFX's Transform (materialized examples, statistics, analyzer cache off:
    the vocabulary changes what the analyzers see). Outputs as Transform's.
    """

    SPEC_CLASS = spec.VocabTransformSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    # Transform.__init__ is not called: it would build a plain TransformSpec, without the vocabulary input.
    def __init__(
        self,
        examples: types.BaseChannel,
        schema: types.BaseChannel,
        sentencepiece_model: types.BaseChannel,
        preprocessing_fn: str,
        custom_config: Optional[Dict[str, Any]] = None,
        splits_config: Optional[transform_pb2.SplitsConfig] = None,
        disable_statistics: bool = False,
    ):
        statistics = {}
        if not disable_statistics:
            statistics = {
                "pre_transform_schema": types.Channel(type=standard_artifacts.Schema),
                "post_transform_schema": types.Channel(type=standard_artifacts.Schema),
                "pre_transform_stats": types.Channel(type=standard_artifacts.ExampleStatistics),
                "post_transform_stats": types.Channel(type=standard_artifacts.ExampleStatistics),
                "post_transform_anomalies": types.Channel(type=standard_artifacts.ExampleAnomalies),
            }
        transformed_examples = types.Channel(type=standard_artifacts.Examples)
        transformed_examples.matching_channel_name = "examples"
        component_spec = spec.VocabTransformSpec(
            examples=examples,
            schema=schema,
            sentencepiece_model=sentencepiece_model,
            preprocessing_fn=preprocessing_fn,
            force_tf_compat_v1=0,
            splits_config=splits_config,
            transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
            transformed_examples=transformed_examples,
            custom_config=json.dumps(custom_config or {}),
            disable_statistics=int(disable_statistics),
            **statistics,
        )
        base_beam_component.BaseBeamComponent.__init__(self, spec=component_spec)
